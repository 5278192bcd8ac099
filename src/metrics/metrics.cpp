// Placeholder translation unit so that the part's library exists before its code lands.
#include "ogp/metrics/metrics.hpp"
