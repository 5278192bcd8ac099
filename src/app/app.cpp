#include "ogp/app/app.hpp"

#include <spdlog/spdlog.h>

#include <time.h>
#include <unistd.h>
#include <array>
#include <boost/asio.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ogp/api/service.hpp"
#include "ogp/auth/credential_cache.hpp"
#include "ogp/config/config.hpp"
#include "ogp/limits/limiter.hpp"
#include "ogp/limits/redis_store.hpp"
#include "ogp/metrics/metrics.hpp"
#include "ogp/server/server.hpp"
#include "ogp/server/tls.hpp"
#include "ogp/upstream/client.hpp"
#include "ogp/util/log.hpp"
#include "ogp/util/memory.hpp"
#include "ogp/util/systemd.hpp"

namespace ogp {

namespace net = boost::asio;

namespace {

constexpr std::string_view usage_text =
    "Usage: oci-genai-proxy [--config FILE] [--check-config] [--version] [--help]\n"
    "\n"
    "An OpenAI-compatible proxy for OCI Generative AI.\n"
    "\n"
    "  --config FILE    YAML configuration (default: $OGP_CONFIG, else\n"
    "                   /etc/oci-genai-proxy/config.yaml if it exists, else environment only)\n"
    "  --check-config   validate the configuration; print every problem and exit 2, or the\n"
    "                   effective value of every key and exit 0\n"
    "  --version        print the version and exit\n"
    "  --help           print this help and exit\n"
    "\n"
    "Environment overrides (OGP_LISTEN, OGP_COMPARTMENT_ID, OGP_API_KEYS, ...) are listed in\n"
    "the README.\n";

struct options
{
    std::string config_path;
    bool check_only = false;
};

// Parses argv; returns an exit code when the process should stop right away.
std::optional<int> parse_args(int argc, char** argv, options& opt)
{
    bool have_config = false;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "--help" || a == "-h") {
            std::cout << usage_text;
            return 0;
        }
        if (a == "--version") {
            std::cout << "oci-genai-proxy " << OGP_VERSION << "\n";
            return 0;
        }
        if (a == "--check-config") {
            opt.check_only = true;
        } else if (a == "--config" || a == "-c") {
            if (i + 1 >= argc) {
                std::cerr << "oci-genai-proxy: --config needs a file name\n";
                return 2;
            }
            opt.config_path = argv[++i];
            have_config = true;
        } else if (a.starts_with("--config=")) {
            opt.config_path = std::string(a.substr(9));
            have_config = true;
        } else {
            std::cerr << "oci-genai-proxy: unknown argument '" << a << "' (see --help)\n";
            return 2;
        }
    }
    // Default config: $OGP_CONFIG, then the packaged path when present.
    if (!have_config) {
        if (const char* env = std::getenv("OGP_CONFIG"); env != nullptr && *env != '\0') {
            opt.config_path = env;
        } else if (std::error_code ec;
                   std::filesystem::exists("/etc/oci-genai-proxy/config.yaml", ec)) {
            opt.config_path = "/etc/oci-genai-proxy/config.yaml";
        }
    }
    return std::nullopt;
}

// One configuration generation: what a request that starts under it uses until it ends. A
// reload installs a new one; the old one is freed when its last request finishes.
struct generation
{
    std::shared_ptr<const config> cfg;
    std::shared_ptr<auth::credential_cache> creds;
    std::unique_ptr<api::service> svc;
};

using generation_ptr = std::shared_ptr<generation>;
using service_call = net::awaitable<server::http_response> (api::service::*)(
    server::http_request&, server::response_sink&);

// Runs one request on `g`'s service. The frame holds `g`: a reload cannot free the service (or
// the configuration it reads) under a request that is still running.
net::awaitable<server::http_response> run_on(generation_ptr g, service_call fn,
                                             server::http_request& req, server::response_sink& sink)
{
    co_return co_await ((*g->svc).*fn)(req, sink);
}

// Keys whose new value needs a restart keep their running value, so that what runs is what was
// started (the reload logs each one).
void keep_startup_values(const config& running, config& next)
{
    next.listen_host = running.listen_host;
    next.listen_port = running.listen_port;
    next.threads = running.threads;
    next.metrics.enabled = running.metrics.enabled;
    next.metrics.listen = running.metrics.listen;
    next.metrics.listen_host = running.metrics.listen_host;
    next.metrics.listen_port = running.metrics.listen_port;
    next.limits.max_connections = running.limits.max_connections;
    next.limits.spool_dir = running.limits.spool_dir;
    next.oci.region = running.oci.region;
    next.oci.endpoint = running.oci.endpoint;
    next.oci.ca_file = running.oci.ca_file;
    next.oci.metadata_url = running.oci.metadata_url;
    next.oci.federation_url = running.oci.federation_url;
    next.log.json = running.log.json;
    // A listener started without TLS cannot start it (nor stop it) in place.
    if (running.tls.enabled() != next.tls.enabled()) {
        next.tls = running.tls;
    }
}

// `RELOADING=1` with the monotonic time systemd >= 253 asks for (older versions ignore it).
std::string reloading_message()
{
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    const auto usec = static_cast<std::uint64_t>(ts.tv_sec) * 1000000u +
                      static_cast<std::uint64_t>(ts.tv_nsec) / 1000u;
    return "RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec);
}

// The running daemon: io threads, the servers, signals, reloads and the drain sequence.
class daemon_app
{
public:
    daemon_app(std::shared_ptr<const config> cfg, std::string config_path,
               std::shared_ptr<net::ssl::context> tls)
        : startup_(std::move(cfg)),
          config_path_(std::move(config_path)),
          tls_(std::move(tls)),
          ioc_(1),
          workers_(make_workers(thread_count())),
          server_(all_contexts(), startup_),
          signals_(ioc_, SIGINT, SIGTERM),
          hangup_(ioc_, SIGHUP),
          drain_timer_(ioc_),
          trim_timer_(ioc_)
    {
    }

    // One io_context per io thread (concurrency hint 1): a connection, its handler and its
    // upstream exchange stay on one thread, with no hand-off between threads per operation.
    static std::vector<std::unique_ptr<net::io_context>> make_workers(unsigned threads)
    {
        std::vector<std::unique_ptr<net::io_context>> w;
        for (unsigned i = 1; i < threads; ++i) {
            w.push_back(std::make_unique<net::io_context>(1));
        }
        return w;
    }

    std::vector<net::io_context*> all_contexts()
    {
        std::vector<net::io_context*> all{&ioc_};
        for (auto& w : workers_) {
            all.push_back(w.get());
        }
        return all;
    }

    unsigned thread_count() const
    {
        if (startup_->threads != 0) {
            return startup_->threads;
        }
        return std::max(1u, std::thread::hardware_concurrency());
    }

    int run()
    {
        // Credentials refresh in the background; the API handlers use them per request.
        auto first = std::make_shared<generation>();
        first->cfg = startup_;
        first->creds = make_creds(*startup_);
        pools_ = std::make_shared<api::upstream_pools>();
        limiter_ = make_limiter(*startup_);
        first->svc =
            std::make_unique<api::service>(*startup_, *first->creds, tls_, pools_, limiter_);
        install(first);
        metrics_.set_runtime([this] { return runtime(); });
        register_handlers(server_);
        if (startup_->metrics.enabled && !startup_->metrics.listen.empty()) {
            metrics_server_ = std::make_unique<server::server>(all_contexts(), startup_,
                                                               server::listener_kind::metrics);
            register_handlers(*metrics_server_);
        }
        // Listen first: a bind failure is a start-up error.
        try {
            server_.listen();
        } catch (const std::exception& e) {
            spdlog::critical("listen: cannot listen on {}:{}: {}", startup_->listen_host,
                             startup_->listen_port, e.what());
            return 1;
        }
        if (metrics_server_) {
            try {
                metrics_server_->listen();
            } catch (const std::exception& e) {
                spdlog::critical("metrics.listen: cannot listen on {}: {}",
                                 startup_->metrics.listen, e.what());
                return 1;
            }
        }
        auto ep = server_.local_endpoint();
        spdlog::info("oci-genai-proxy {} listening on {}:{}{} ({} threads, config {})", OGP_VERSION,
                     ep.address().to_string(), ep.port(), startup_->tls.enabled() ? " (https)" : "",
                     thread_count(), startup_->source);
        if (metrics_server_) {
            auto mep = metrics_server_->local_endpoint();
            spdlog::info("metrics listening on {}:{}", mep.address().to_string(), mep.port());
        }
        server_.start();
        if (metrics_server_) {
            metrics_server_->start();
        }
        current()->creds->start();
        watch_memory();
        wait_for_signal();
        wait_for_hangup();
        systemd_notify("READY=1");

        // Run the io threads until the drain completes; workers wait for connections meanwhile.
        std::vector<std::thread> threads;
        for (auto& w : workers_) {
            guards_.emplace_back(w->get_executor());
            threads.emplace_back([ctx = w.get()] { ctx->run(); });
        }
        ioc_.run();
        for (auto& t : threads) {
            t.join();
        }
        // Unwind what is left (credential loop, forced-closed sessions and their upstream
        // exchanges) while every object they use is still alive.
        current()->creds->stop();
        for (auto* s : servers()) {
            s->drain();
            s->close_all();
        }
        // Run handlers until none is ready for 50 ms (at most 2 s): a parked operation, such as
        // a signal registration, must not hold up the exit.
        boost::system::error_code ignored;
        signals_.clear(ignored);
        hangup_.clear(ignored);
        const auto contexts = all_contexts();
        for (auto* c : contexts) {
            c->restart();
        }
        const auto unwind_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
        while (std::chrono::steady_clock::now() < unwind_deadline) {
            std::size_t ran = 0;
            for (auto* c : contexts) {
                ran += c->poll();
            }
            if (ran == 0) {
                for (auto* c : contexts) {
                    ran += c->run_one_for(std::chrono::milliseconds(50) / contexts.size());
                }
                if (ran == 0) {
                    break;
                }
            }
        }
        current()->svc->close_idle();
        // Redis connections too: their sockets must close while the io_context exists.
        limiter_->shutdown();
        spdlog::info("stopped");
        return 0;
    }

private:
    generation_ptr current() const
    {
        std::lock_guard lock(gen_mutex_);
        return gen_;
    }

    void install(generation_ptr g)
    {
        std::lock_guard lock(gen_mutex_);
        gen_ = std::move(g);
    }

    std::shared_ptr<auth::credential_cache> make_creds(const config& c)
    {
        return auth::make_credential_cache(c, ioc_.get_executor(), process_env());
    }

    std::vector<server::server*> servers()
    {
        std::vector<server::server*> all{&server_};
        if (metrics_server_) {
            all.push_back(metrics_server_.get());
        }
        return all;
    }

    // Every route goes through the current generation; /metrics and the probes are the app's.
    void register_handlers(server::server& s)
    {
        static constexpr std::pair<server::route, service_call> calls[] = {
            {server::route::chat_completions, &api::service::chat},
            {server::route::responses, &api::service::responses},
            {server::route::stored_response, &api::service::stored_response},
            {server::route::openai_state, &api::service::openai_state},
            {server::route::embeddings, &api::service::embeddings},
            {server::route::models, &api::service::models},
            {server::route::model, &api::service::model},
        };
        for (const auto& [r, fn] : calls) {
            s.set_handler(r,
                          [this, fn = fn](server::http_request& req, server::response_sink& sink) {
                              return run_on(current(), fn, req, sink);
                          });
        }
        s.set_handler(
            server::route::metrics,
            [this](server::http_request& req, server::response_sink&) { return scrape(req); });
        s.set_readiness([this] { return current()->svc->readiness(); });
        s.set_readiness_detail([this] { return circuits_json(); });
        // With metrics off nothing is counted: the request path pays nothing for them.
        if (startup_->metrics.enabled) {
            s.set_observer([this](const server::exchange_summary& x) { observe(x); });
        }
    }

    // The limiter: in-process, or over `limits.store` (Redis, on the main io thread's context;
    // the store keeps its connections on a strand of its own).
    std::shared_ptr<limits::limiter> make_limiter(const config& c)
    {
        std::unique_ptr<limits::store> shared;
        if (!c.limits.store.empty()) {
            limits::redis_options o;
            o.host = c.limits.store_host;
            o.port = c.limits.store_port;
            o.db = c.limits.store_db;
            o.password = c.limits.store_password;
            o.timeout = c.limits.store_timeout;
            shared = limits::make_redis_store(ioc_.get_executor(), std::move(o));
        }
        limits::limiter_options lo;
        lo.fail_open = c.limits.store_fail_open;
        // Longer than any request may take: a slot a dead replica held frees itself after it.
        lo.lease_ttl =
            std::chrono::duration_cast<std::chrono::milliseconds>(c.timeouts.upstream_total) +
            std::chrono::minutes(1);
        auto l = std::make_shared<limits::limiter>(std::move(shared), lo);
        if (!c.limits.store.empty()) {
            spdlog::info("limits: per-key limits shared in {} (on failure: {})", l->describe(),
                         c.limits.store_fail_open ? "count in-process" : "refuse with 503");
        }
        return l;
    }

    // `/readyz` detail: the circuit of every upstream host the aliases use (empty: none known
    // yet, the body stays `{"status":"ready"}`).
    std::string circuits_json() const
    {
        const auto circuits = current()->svc->circuits();
        if (circuits.empty()) {
            return {};
        }
        std::string out = "[";
        for (const auto& c : circuits) {
            if (out.size() > 1) {
                out += ',';
            }
            // Region ids and host:port are configuration (validated), never client text.
            out += "{\"upstream\":\"" + json_safe(c.upstream) + "\",\"host\":\"" +
                   json_safe(c.host) + "\",\"state\":\"" + std::string(api::to_string(c.state)) +
                   "\",\"retry_in_s\":" + std::to_string((c.retry_in.count() + 999) / 1000) + "}";
        }
        out += ']';
        return out;
    }

    // Configuration text for a JSON string: anything but printable ASCII (and `"`, `\`) dropped.
    static std::string json_safe(std::string_view v)
    {
        std::string out;
        for (char ch : v) {
            if (ch > 0x20 && ch < 0x7f && ch != '"' && ch != '\\') {
                out += ch;
            }
        }
        return out;
    }

    // GET /metrics: the whole registry, in the format the scraper asked for.
    net::awaitable<server::http_response> scrape(server::http_request& req)
    {
        const auto accept = req.head.find("accept");
        const auto fmt = metrics::negotiate(accept ? *accept : std::string_view());
        server::http_response r;
        r.content_type = std::string(metrics::content_type(fmt));
        metrics_.write(r.body, fmt);
        co_return r;
    }

    // One finished exchange into the metrics.
    void observe(const server::exchange_summary& x)
    {
        metrics::request_sample s;
        s.route = server::route_name(x.target);
        s.method = x.method;
        s.status = x.status;
        s.duration = std::chrono::duration_cast<std::chrono::nanoseconds>(x.duration);
        s.stream = x.stream;
        s.reject_reason = x.reject_reason;
        if (const auto* r = x.record) {
            s.client = r->client;
            s.operation = r->operation;
            s.request_model = r->model;
            s.response_model = r->response_model;
            s.error_type = r->error_type;
            s.input_tokens = r->input_tokens;
            s.output_tokens = r->output_tokens;
            s.cached_tokens = r->cached_tokens;
            s.reasoning_tokens = r->reasoning_tokens;
            s.ttft = r->ttft;
            s.upstream = r->upstream;
            s.retries = r->retries;
            s.rate_limited = r->rate_limited;
            s.fallback = r->fallback;
            s.failovers = r->failovers;
            s.region = r->region;
        }
        metrics_.observe(s);
    }

    // What a scrape reads from the other parts.
    metrics::runtime_snapshot runtime() const
    {
        metrics::runtime_snapshot r;
        const std::array<const server::server*, 2> listeners{&server_, metrics_server_.get()};
        for (const auto* s : listeners) {
            if (s == nullptr) {
                continue;
            }
            const auto st = s->stats();
            r.connections_open += st.connections_open;
            r.connections_accepted += st.connections_accepted;
            r.connections_refused += st.connections_refused;
            r.requests_in_flight += st.requests_in_flight;
            r.streams_in_flight += st.streams_in_flight;
            r.tls_handshakes += st.tls_handshakes;
            r.tls_handshake_failures += st.tls_handshake_failures;
        }
        const auto g = current();
        const auto svc = g->svc->stats();
        r.upstream_requests = svc.upstream_requests;
        r.retries_401 = svc.retries_401;
        r.retries_429 = svc.retries_429;
        r.retries_503 = svc.retries_503;
        r.retries_stale = svc.retries_stale;
        for (const auto& p : svc.pools) {
            r.pools.push_back({std::string(p.name), p.open, p.idle, p.handshakes, p.resumed});
        }
        r.credential.provider = std::string(g->creds->provider_name());
        r.credential.renewals = g->creds->succeeded_renewals();
        r.credential.failures = g->creds->failed_renewals();
        if (auto snap = g->creds->current()) {
            if (snap->expiry() != auth::credential_snapshot::clock::time_point::max()) {
                r.credential.seconds_to_expiry =
                    std::chrono::duration<double>(snap->expiry() -
                                                  auth::credential_snapshot::clock::now())
                        .count();
            }
        }
        for (const auto& k : g->cfg->clients.keys) {
            if (k.limited()) {
                r.client_limits.push_back({k.name, k.rpm, k.tpm, k.max_concurrent, k.max_streams});
            }
        }
        if (limiter_) {
            const auto ls = limiter_->stats();
            r.limits_store = {g->cfg->limits.store.empty() ? "memory" : "redis", ls.store_errors,
                              ls.store_fallbacks, ls.store_refusals};
        }
        for (const auto& c : g->svc->circuits()) {
            r.circuits.push_back({c.upstream, c.host, static_cast<int>(c.state), c.opened});
        }
        r.reloads.ok = reloads_ok_.load();
        r.reloads.failed = reloads_failed_.load();
        r.reloads.last_success_unix = last_reload_unix_.load();
        return r;
    }

    // Once a second: return freed heap to the kernel after a burst of connections ended. Only
    // this chain touches the timer; it stops by itself once the server drains.
    void watch_memory()
    {
        trim_timer_.expires_after(std::chrono::seconds(1));
        trim_timer_.async_wait([this](boost::system::error_code ec) {
            if (ec || server_.draining()) {
                return;
            }
            if (trim_.tick(server_.active_connections(), server_.accepted_connections())) {
                release_free_memory();
            }
            watch_memory();
        });
    }

    void wait_for_signal()
    {
        signals_.async_wait([this](boost::system::error_code ec, int sig) {
            if (ec) {
                return;
            }
            if (!draining_) {
                begin_drain(sig);
                wait_for_signal();
                return;
            }
            // A second signal: leave at once.
            spdlog::warn("second signal ({}), exiting immediately", sig);
            spdlog::default_logger()->flush();
            std::_Exit(1);
        });
    }

    // SIGHUP (`systemctl reload`): re-read the configuration and the key files.
    void wait_for_hangup()
    {
        hangup_.async_wait([this](boost::system::error_code ec, int) {
            if (ec) {
                return;
            }
            if (!draining_) {
                reload();
            }
            wait_for_hangup();
        });
    }

    // Loads the file again and, when it validates whole, makes it the configuration of every
    // request that starts from now on; in-flight requests finish on theirs. Anything wrong
    // rejects the whole file, every problem is logged, and the running configuration stays.
    void reload()
    {
        systemd_notify(reloading_message());
        const std::string from = config_path_.empty() ? "(environment)" : config_path_;
        spdlog::info("SIGHUP: reloading the configuration from {}", from);
        auto loaded = load_config(config_path_, process_env());
        if (!loaded.value) {
            for (const auto& e : loaded.errors) {
                spdlog::error("reload rejected: {}", e);
            }
            reload_failed(std::to_string(loaded.errors.size()) + " problem(s)");
            return;
        }
        const auto running = current();
        config next = std::move(*loaded.value);
        const auto plan = plan_reload(*running->cfg, next);
        for (const auto& key : plan.restart_needed) {
            spdlog::warn(
                "reload: {} changed: it takes effect after a restart (the running value "
                "stays)",
                key);
        }
        keep_startup_values(*running->cfg, next);
        // Certificates first: one that does not load rejects the whole reload.
        if (next.tls.enabled()) {
            try {
                server::make_tls_context(next.tls);
            } catch (const std::exception& e) {
                spdlog::error("reload rejected: {}: {}", next.source, e.what());
                reload_failed("1 problem");
                return;
            }
        }
        auto cfg = std::make_shared<const config>(std::move(next));
        auto g = std::make_shared<generation>();
        g->cfg = cfg;
        g->creds = running->creds;
        if (plan.credentials_changed) {
            // A new provider; the old cache serves in-flight requests until they end.
            g->creds = make_creds(*cfg);
            g->creds->start();
            spdlog::info("reload: oci.auth or its files changed: new {} credentials",
                         g->creds->provider_name());
        }
        g->svc = std::make_unique<api::service>(*cfg, *g->creds, tls_, pools_, limiter_);
        install(std::move(g));
        for (auto* s : servers()) {
            s->reconfigure(cfg);
            try {
                s->reload_tls();
            } catch (const std::exception& e) {
                // Loaded above: only a file changed again in between gets here.
                spdlog::error("reload: {}; the previous certificate stays", e.what());
            }
        }
        spdlog::default_logger()->set_level(spdlog::level::from_str(cfg->log.level));
        ++reloads_ok_;
        last_reload_unix_ =
            std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
                .count();
        spdlog::info("configuration reloaded from {}: {} model aliases, {} client keys", from,
                     cfg->models.size(), cfg->clients.api_keys.size() + cfg->clients.keys.size());
        systemd_notify("READY=1");
    }

    void reload_failed(const std::string& what)
    {
        ++reloads_failed_;
        spdlog::error("reload rejected ({}): the running configuration stays", what);
        systemd_notify("READY=1");
    }

    void begin_drain(int sig)
    {
        draining_ = true;
        const auto budget = current()->cfg->timeouts.drain;
        spdlog::info("signal {} received: draining (up to {} ms)", sig, budget.count());
        systemd_notify("STOPPING=1");
        for (auto* s : servers()) {
            s->drain();
        }
        drain_deadline_ = std::chrono::steady_clock::now() + budget;
        poll_drain();
    }

    std::size_t active_connections()
    {
        std::size_t n = 0;
        for (auto* s : servers()) {
            n += s->active_connections();
        }
        return n;
    }

    // Checks every 20 ms whether all connections have finished, until the drain deadline.
    void poll_drain()
    {
        if (active_connections() == 0) {
            finish();
            return;
        }
        if (std::chrono::steady_clock::now() >= drain_deadline_ && !streams_cut_) {
            // Streams still open get a moment to end with an error event and their last chunk.
            streams_cut_ = true;
            spdlog::warn("drain timeout: ending the open streams, then closing {} connections",
                         active_connections());
            server_.cut_streams();
            drain_deadline_ = std::chrono::steady_clock::now() + cut_grace;
        } else if (std::chrono::steady_clock::now() >= drain_deadline_) {
            spdlog::warn("drain timeout: closing {} connections", active_connections());
            for (auto* s : servers()) {
                s->close_all();
            }
            finish();
            return;
        }
        drain_timer_.expires_after(std::chrono::milliseconds(20));
        drain_timer_.async_wait([this](boost::system::error_code ec) {
            if (!ec) {
                poll_drain();
            }
        });
    }

    void finish()
    {
        if (auto g = current()) {
            g->creds->stop();
        }
        signals_.cancel();
        hangup_.cancel();
        // The workers stop once their guards are gone and their work is done: stop them now.
        guards_.clear();
        for (auto& w : workers_) {
            w->stop();
        }
        ioc_.stop();
    }

    const std::shared_ptr<const config> startup_;
    const std::string config_path_;
    std::shared_ptr<net::ssl::context> tls_;
    metrics::proxy_metrics metrics_;
    std::atomic<std::uint64_t> reloads_ok_{0};
    std::atomic<std::uint64_t> reloads_failed_{0};
    std::atomic<double> last_reload_unix_{0};
    // Before the io_context, so they outlive every coroutine frame it may still destroy; run()
    // closes the service's idle upstream connections while the io_context is alive.
    std::shared_ptr<api::upstream_pools> pools_;
    /// The per-key rate limits, shared by every generation (a reload keeps the buckets).
    std::shared_ptr<limits::limiter> limiter_;
    mutable std::mutex gen_mutex_;
    generation_ptr gen_;
    net::io_context ioc_;  // first io thread: listener, signals, timers, credential loop
    std::vector<std::unique_ptr<net::io_context>> workers_;  // the other io threads
    std::vector<net::executor_work_guard<net::io_context::executor_type>> guards_;
    server::server server_;
    std::unique_ptr<server::server> metrics_server_;
    net::signal_set signals_;
    net::signal_set hangup_;
    net::steady_timer drain_timer_;
    net::steady_timer trim_timer_;
    trim_policy trim_;
    bool draining_ = false;
    bool streams_cut_ = false;  // cut_streams() done; the next deadline closes everything
    static constexpr std::chrono::milliseconds cut_grace{1000};
    std::chrono::steady_clock::time_point drain_deadline_;
};

}  // namespace

int run_daemon(int argc, char** argv)
{
    options opt;
    if (auto code = parse_args(argc, argv, opt)) {
        return *code;
    }
    // Configuration: every problem on its own line, exit 2.
    auto loaded = load_config(opt.config_path, process_env());
    if (!loaded.value) {
        for (const auto& e : loaded.errors) {
            std::cerr << "oci-genai-proxy: " << e << "\n";
        }
        return 2;
    }
    if (opt.check_only) {
        // Then the effective value of every key (file, environment and defaults merged), so an
        // operator sees what the daemon would run with; client keys are only counted.
        std::cout << "configuration OK (" << loaded.value->source << ")\n"
                  << describe_config(*loaded.value);
        return 0;
    }
    try {
        setup_logging(loaded.value->log.level, loaded.value->log.json);
        if (loaded.value->clients.allow_anonymous && loaded.value->clients.api_keys.empty()) {
            spdlog::warn(
                "clients.allow_anonymous is true: any client that can connect may use "
                "this proxy");
        }
        // Upstream trust anchors: a bad oci.ca_file is a configuration error.
        std::shared_ptr<net::ssl::context> tls;
        try {
            tls = upstream::make_client_tls_context(loaded.value->oci.ca_file);
        } catch (const std::exception& e) {
            std::cerr << "oci-genai-proxy: " << loaded.value->source
                      << ": oci.ca_file: cannot load '" << loaded.value->oci.ca_file
                      << "': " << e.what() << "\n";
            return 2;
        }
        // The listener's certificate and key: a file that does not load is a configuration error.
        if (loaded.value->tls.enabled()) {
            try {
                server::make_tls_context(loaded.value->tls);
            } catch (const std::exception& e) {
                std::cerr << "oci-genai-proxy: " << loaded.value->source << ": " << e.what()
                          << "\n";
                return 2;
            }
        }
        daemon_app app(std::make_shared<const config>(std::move(*loaded.value)), opt.config_path,
                       std::move(tls));
        return app.run();
    } catch (const std::exception& e) {
        std::cerr << "oci-genai-proxy: fatal: " << e.what() << "\n";
        return 1;
    }
}

}  // namespace ogp
