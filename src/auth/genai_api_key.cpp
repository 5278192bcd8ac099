// GenAI API key provider: a fixed Bearer key from the configuration, no signing, no expiry.

#include "ogp/auth/provider.hpp"
#include "ogp/config/region.hpp"

#include <boost/asio/awaitable.hpp>

namespace ogp::auth {
namespace {

class genai_api_key_provider final : public credential_provider
{
public:
    genai_api_key_provider(std::string key, std::string region)
    {
        // One snapshot for the life of the process: the same pointer on every fetch(), so
        // that a renewal after a 401 visibly gives nothing newer.
        if (auto r = resolve_region(region)) {
            region = r->id;
        }
        credential_snapshot::params p;
        p.bearer = std::move(key);
        p.region = std::move(region);
        if (p.bearer.empty()) {
            snap_ = error{errc::config,
                          "no GenAI API key configured (oci.genai_api_key_file or "
                          "$OCI_GENAI_API_KEY)"};
        } else {
            snap_ = credential_snapshot::create(std::move(p));
        }
    }

    std::string_view name() const override { return "genai_api_key"; }

    net::awaitable<result<snapshot_ptr>> fetch() override { co_return snap_; }

    bool fixed() const override { return true; }

private:
    result<snapshot_ptr> snap_ = error{errc::config, "not initialised"};
};

}  // namespace

std::unique_ptr<credential_provider> make_genai_api_key_provider(std::string key,
                                                                 std::string region)
{
    return std::make_unique<genai_api_key_provider>(std::move(key), std::move(region));
}

}  // namespace ogp::auth
