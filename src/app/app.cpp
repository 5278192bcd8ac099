#include "ogp/app/app.hpp"

#include <spdlog/spdlog.h>

#include <unistd.h>
#include <boost/asio.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "ogp/api/service.hpp"
#include "ogp/auth/credential_cache.hpp"
#include "ogp/config/config.hpp"
#include "ogp/server/server.hpp"
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

// The running daemon: io threads, the server, signals and the drain sequence.
class daemon_app
{
public:
    daemon_app(config cfg, std::shared_ptr<net::ssl::context> tls)
        : cfg_(std::move(cfg)),
          tls_(std::move(tls)),
          ioc_(1),
          workers_(make_workers(thread_count())),
          server_(all_contexts(), cfg_),
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
        if (cfg_.threads != 0) {
            return cfg_.threads;
        }
        return std::max(1u, std::thread::hardware_concurrency());
    }

    int run()
    {
        // Credentials refresh in the background; the API handlers use them per request.
        creds_ = auth::make_credential_cache(cfg_, ioc_.get_executor(), process_env());
        service_ = std::make_unique<api::service>(cfg_, *creds_, tls_);
        auto* svc = service_.get();
        server_.set_handler(
            server::route::chat_completions,
            [svc](server::http_request& r, server::response_sink& s) { return svc->chat(r, s); });
        server_.set_handler(server::route::responses,
                            [svc](server::http_request& r, server::response_sink& s) {
                                return svc->responses(r, s);
                            });
        server_.set_handler(server::route::stored_response,
                            [svc](server::http_request& r, server::response_sink& s) {
                                return svc->stored_response(r, s);
                            });
        server_.set_handler(server::route::openai_state,
                            [svc](server::http_request& r, server::response_sink& s) {
                                return svc->openai_state(r, s);
                            });
        server_.set_handler(server::route::embeddings,
                            [svc](server::http_request& r, server::response_sink& s) {
                                return svc->embeddings(r, s);
                            });
        server_.set_handler(
            server::route::models,
            [svc](server::http_request& r, server::response_sink& s) { return svc->models(r, s); });
        server_.set_handler(
            server::route::model,
            [svc](server::http_request& r, server::response_sink& s) { return svc->model(r, s); });
        server_.set_readiness([svc] { return svc->readiness(); });
        // Listen first: a bind failure is a start-up error.
        try {
            server_.listen();
        } catch (const std::exception& e) {
            spdlog::critical("listen: cannot listen on {}:{}: {}", cfg_.listen_host,
                             cfg_.listen_port, e.what());
            return 1;
        }
        auto ep = server_.local_endpoint();
        spdlog::info("oci-genai-proxy {} listening on {}:{} ({} threads, config {})", OGP_VERSION,
                     ep.address().to_string(), ep.port(), thread_count(), cfg_.source);
        server_.start();
        creds_->start();
        watch_memory();
        wait_for_signal();
        ignore_hangup();
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
        creds_->stop();
        server_.drain();
        server_.close_all();
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
        service_->close_idle();
        spdlog::info("stopped");
        return 0;
    }

private:
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

    // SIGHUP would kill the process without a drain: log and ignore it (no reload).
    void ignore_hangup()
    {
        hangup_.async_wait([this](boost::system::error_code ec, int) {
            if (ec) {
                return;
            }
            spdlog::warn("SIGHUP ignored: configuration reload is not supported; restart instead");
            ignore_hangup();
        });
    }

    void begin_drain(int sig)
    {
        draining_ = true;
        spdlog::info("signal {} received: draining (up to {} ms)", sig,
                     cfg_.timeouts.drain.count());
        systemd_notify("STOPPING=1");
        server_.drain();
        drain_deadline_ = std::chrono::steady_clock::now() + cfg_.timeouts.drain;
        poll_drain();
    }

    // Checks every 20 ms whether all connections have finished, until the drain deadline.
    void poll_drain()
    {
        if (server_.active_connections() == 0) {
            finish();
            return;
        }
        if (std::chrono::steady_clock::now() >= drain_deadline_ && !streams_cut_) {
            // Streams still open get a moment to end with an error event and their last chunk.
            streams_cut_ = true;
            spdlog::warn("drain timeout: ending the open streams, then closing {} connections",
                         server_.active_connections());
            server_.cut_streams();
            drain_deadline_ = std::chrono::steady_clock::now() + cut_grace;
        } else if (std::chrono::steady_clock::now() >= drain_deadline_) {
            spdlog::warn("drain timeout: closing {} connections", server_.active_connections());
            server_.close_all();
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
        if (creds_) {
            creds_->stop();
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

    config cfg_;
    std::shared_ptr<net::ssl::context> tls_;
    // Before the io_context, so they outlive every coroutine frame it may still destroy; run()
    // closes the service's idle upstream connections while the io_context is alive.
    std::unique_ptr<auth::credential_cache> creds_;
    std::unique_ptr<api::service> service_;
    net::io_context ioc_;  // first io thread: listener, signals, timers, credential loop
    std::vector<std::unique_ptr<net::io_context>> workers_;  // the other io threads
    std::vector<net::executor_work_guard<net::io_context::executor_type>> guards_;
    server::server server_;
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
        daemon_app app(std::move(*loaded.value), std::move(tls));
        return app.run();
    } catch (const std::exception& e) {
        std::cerr << "oci-genai-proxy: fatal: " << e.what() << "\n";
        return 1;
    }
}

}  // namespace ogp
