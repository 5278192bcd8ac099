-- wrk script for scripts/bench: replays one raw HTTP/1.1 request, byte for byte, read from the
-- file named by $BENCH_REQUEST (a pre-signed OCI request for the mock and nginx, an OpenAI
-- request for oci-genai-proxy), and prints one machine-readable summary line at the end.
--
-- The mock verifies OCI signatures but does not track replays, so one request signed at the
-- start of a run stays valid for its 5-minute date window: the direct and nginx rows therefore
-- carry no signing cost at all (that is the point of a floor).

local path = os.getenv("BENCH_REQUEST")
local f = assert(io.open(path, "rb"), "BENCH_REQUEST must name a readable file")
local raw = f:read("*a")
f:close()

request = function()
   return raw
end

done = function(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'BENCHJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect_errors":%d,' ..
      '"read_errors":%d,"write_errors":%d,"status_errors":%d,"timeouts":%d,' ..
      '"lat_mean_us":%.1f,"lat_max_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d}\n',
      summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
      e.timeout, latency.mean, latency.max, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency:percentile(99.9)))
end
