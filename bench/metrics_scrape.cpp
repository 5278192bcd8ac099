// Scrape and observe cost of proxy_metrics with a realistic label population: 100 model aliases
// x 10 client keys (chat on all, responses and embeddings on some, streams with TTFT, a few
// error types), the server's routes and status codes, three upstream pools. Prints one line per
// figure:
//   scrape: median/p90 of 200 write() calls into one reused string (microseconds) and bytes
//   observe: nanoseconds per call, one thread and two threads (label sets already cached)
// Usage: bench_metrics_scrape [scrapes] [observes-per-thread]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

#include "ogp/metrics/metrics.hpp"

using namespace ogp::metrics;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

struct owned_sample
{
    std::string model, response_model, client;
    request_sample s;
};

/// The population: strings owned here, samples pointing into them.
std::vector<owned_sample> population()
{
    std::vector<owned_sample> out;
    const char* errors[] = {"timeout", "rate_limited", "upstream_error"};
    out.reserve(100 * 10 + 64);
    for (int m = 0; m < 100; ++m) {
        for (int c = 0; c < 10; ++c) {
            owned_sample o;
            char buf[64];
            std::snprintf(buf, sizeof buf, "model-%03d", m);
            o.model = buf;
            std::snprintf(buf, sizeof buf, "cohere.command-r-plus-08-2024-v%03d", m);
            o.response_model = buf;
            std::snprintf(buf, sizeof buf, "team-%02d", c);
            o.client = buf;
            out.push_back(std::move(o));
        }
    }
    for (std::size_t i = 0; i < out.size(); ++i) {
        auto& o = out[i];
        auto& s = o.s;
        const int m = static_cast<int>(i / 10);
        s.method = "POST";
        s.client = o.client;
        s.request_model = o.model;
        s.response_model = o.response_model;
        s.duration = 800ms + std::chrono::milliseconds(i % 700);
        s.upstream = std::chrono::duration_cast<std::chrono::microseconds>(s.duration) - 300us;
        s.status = 200;
        if (m % 10 == 0) {
            s.route = "embeddings";
            s.operation = "embeddings";
            s.input_tokens = 50 + static_cast<std::int64_t>(i);
        } else if (m % 5 == 0) {
            s.route = "responses";
            s.operation = "responses";
            s.input_tokens = 500;
            s.output_tokens = 200;
            s.reasoning_tokens = 40;
        } else {
            s.route = "chat_completions";
            s.operation = "chat";
            s.input_tokens = 1000;
            s.output_tokens = 300;
            s.cached_tokens = 200;
            s.stream = i % 2 == 0;
            if (s.stream) {
                s.ttft = std::chrono::microseconds(40000 + 100 * static_cast<int>(i));
            }
        }
        if (i % 13 == 0) {
            s.status = i % 2 == 0 ? 429 : 504;
            s.error_type = errors[i % 3];
        }
    }
    return out;
}

/// This thread's CPU time in nanoseconds (the machine may be shared: wall time would count the
/// time other processes ran).
double thread_cpu_ns()
{
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

double percentile(std::vector<double> v, double p)
{
    std::sort(v.begin(), v.end());
    return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

double observe_ns(proxy_metrics& m, const std::vector<owned_sample>& samples, long n)
{
    const auto t0 = thread_cpu_ns();
    for (long i = 0; i < n; ++i) {
        m.observe(samples[static_cast<std::size_t>(i) % samples.size()].s);
    }
    return (thread_cpu_ns() - t0) / static_cast<double>(n);
}

/// Median and p90 of `scrapes` write() calls into one reused string: {cpu us, wall us, bytes}.
struct scrape_figures
{
    double cpu_median, cpu_p90, wall_median;
    std::size_t bytes;
};

scrape_figures time_scrapes(const proxy_metrics& m, exposition fmt, int scrapes)
{
    std::string out;
    std::vector<double> cpu, wall;
    std::size_t bytes = 0;
    for (int i = 0; i < scrapes; ++i) {
        out.clear();  // keeps the capacity: one reserved string across scrapes
        const auto w0 = clock_type::now();
        const auto c0 = thread_cpu_ns();
        m.write(out, fmt);
        cpu.push_back((thread_cpu_ns() - c0) / 1000);
        wall.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - w0).count());
        bytes = out.size();
    }
    return {percentile(cpu, 0.5), percentile(cpu, 0.9), percentile(wall, 0.5), bytes};
}

}  // namespace

int main(int argc, char** argv)
{
    const int scrapes = argc > 1 ? std::atoi(argv[1]) : 200;
    const long observes = argc > 2 ? std::atol(argv[2]) : 2000000;

    proxy_metrics m;
    auto samples = population();
    for (const auto& o : samples) {
        m.observe(o.s);
    }
    // The server's own routes and codes (no GenAI operation).
    const char* routes[] = {"chat_completions", "responses", "embeddings", "models", "healthz",
                            "readyz",           "metrics",   "not_found",  "files"};
    const unsigned codes[] = {200, 400, 401, 404, 413, 429, 500, 502, 504};
    for (const auto* r : routes) {
        for (const auto c : codes) {
            request_sample s;
            s.route = r;
            s.status = c;
            s.reject_reason = c == 401 ? "unauthorized" : c == 413 ? "body_too_large" : "";
            m.observe(s);
        }
    }
    m.set_runtime([] {
        runtime_snapshot r;
        r.connections_open = 120;
        r.pools = {
            {"inference", 32, 8, 1000, 900}, {"control", 2, 2, 10, 9}, {"openai", 8, 4, 50, 40}};
        r.credential = {"instance_principal", 10, 0, 3000};
        r.reloads = {3, 1, 1764530000};
        return r;
    });

    std::size_t series = 0;
    for (const auto& f : m.families().families()) {
        series += f->size();
    }
    for (const auto fmt : {exposition::text_0_0_4, exposition::openmetrics_1_0_0}) {
        const auto r = time_scrapes(m, fmt, scrapes);
        std::printf(
            "scrape %s: %zu series, %zu bytes, cpu median %.1f us, p90 %.1f us, wall median %.1f "
            "us (%d scrapes)\n",
            fmt == exposition::text_0_0_4 ? "text 0.0.4" : "openmetrics 1.0.0", series, r.bytes,
            r.cpu_median, r.cpu_p90, r.wall_median, scrapes);
    }

    std::printf("observe 1 thread: %.0f ns cpu per call (%ld calls)\n",
                observe_ns(m, samples, observes), observes);
    double ns[2] = {0, 0};
    std::thread a([&] { ns[0] = observe_ns(m, samples, observes); });
    std::thread b([&] {
        // The second thread walks the samples in another order (other series' cache lines).
        std::vector<owned_sample> reversed(samples.rbegin(), samples.rend());
        for (auto& o : reversed) {
            o.s.client = o.client;
            o.s.request_model = o.model;
            o.s.response_model = o.response_model;
        }
        ns[1] = observe_ns(m, reversed, observes);
    });
    a.join();
    b.join();
    std::printf("observe 2 threads: %.0f / %.0f ns cpu per call per thread (%ld calls each)\n",
                ns[0], ns[1], observes);
    return 0;
}
