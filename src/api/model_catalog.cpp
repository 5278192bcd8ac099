#include "ogp/api/model_catalog.hpp"

#include <spdlog/spdlog.h>

#include <unordered_set>
#include <utility>

namespace ogp::api {

namespace {

// Page tokens go into a URL: only plain characters.
bool plain_token(const std::string& t)
{
    return t.find_first_not_of(
               "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
               "0123456789-_.~=") == std::string::npos;
}

}  // namespace

model_catalog::model_catalog(model_catalog_options o, steady_clock_fn now)
    : o_(o),
      now_(now ? std::move(now) : steady_clock_fn([] { return std::chrono::steady_clock::now(); })),
      models_(std::make_shared<const std::vector<transform::oci_model>>())
{
}

std::uint64_t model_catalog::pages_fetched() const
{
    std::lock_guard lock(mutex_);
    return pages_;
}

std::optional<model_list> model_catalog::cached_or_claim()
{
    std::lock_guard lock(mutex_);
    const auto now = now_();
    if (have_list_ && now - fetched_at_ < o_.ttl) {
        return models_;
    }
    // A recent failure: OCI is not asked again on every call while it is down.
    if (have_failure_ && now - failed_at_ < o_.failure_ttl) {
        return models_;
    }
    // Someone is already refreshing: the previous answer will do meanwhile.
    if (refreshing_ > 0 && (have_list_ || have_failure_)) {
        return models_;
    }
    ++refreshing_;
    return std::nullopt;
}

boost::asio::awaitable<model_list> model_catalog::get(fetch_model_page fetch)
{
    if (auto cached = cached_or_claim()) {
        co_return std::move(*cached);
    }
    // Released on every exit, also when the frame is destroyed without resuming.
    struct claim
    {
        model_catalog* c;
        ~claim()
        {
            std::lock_guard lock(c->mutex_);
            --c->refreshing_;
        }
    } guard{this};

    std::vector<transform::oci_model> models;
    std::unordered_set<std::string> ids;
    std::string page;
    std::size_t pages = 0;
    auto status = model_page::outcome::ok;
    for (;;) {
        if (pages >= o_.max_pages || models.size() >= o_.max_models) {
            spdlog::warn(
                "upstream: model discovery stopped after {} pages and {} models (bound {} pages, "
                "{} models); the rest of OCI's list is not offered",
                pages, models.size(), o_.max_pages, o_.max_models);
            break;
        }
        model_page p = co_await fetch(page);
        ++pages;
        {
            std::lock_guard lock(mutex_);
            ++pages_;
        }
        if (p.status != model_page::outcome::ok) {
            status = p.status;
            break;
        }
        // The same OCID on two pages (the list moved while paging) is kept once.
        for (auto& m : p.models) {
            if (models.size() >= o_.max_models) {
                break;
            }
            if (ids.insert(m.id).second) {
                models.push_back(std::move(m));
            }
        }
        if (p.next_page.empty()) {
            break;
        }
        if (!plain_token(p.next_page)) {
            spdlog::warn("upstream: model discovery stopped after {} pages: unusable opc-next-page",
                         pages);
            break;
        }
        page = std::move(p.next_page);
    }

    std::lock_guard lock(mutex_);
    switch (status) {
        case model_page::outcome::aborted:
            break;  // says nothing about OCI: no cache change
        case model_page::outcome::failed:
            have_failure_ = true;
            failed_at_ = now_();
            if (have_list_) {
                spdlog::warn("upstream: model discovery failed; serving the last list ({} models)",
                             models_->size());
            }
            break;
        case model_page::outcome::ok:
            models_ = std::make_shared<const std::vector<transform::oci_model>>(std::move(models));
            have_list_ = true;
            have_failure_ = false;
            fetched_at_ = now_();
            break;
    }
    co_return models_;
}

}  // namespace ogp::api
