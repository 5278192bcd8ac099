#pragma once
// The metrics part (issue 15): written by the metrics owner.
