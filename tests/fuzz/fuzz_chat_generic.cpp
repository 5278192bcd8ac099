// Fuzzes the OpenAI -> OCI chat request translation for the GENERIC format (fuzz_chat.hpp).

#include "fuzz_chat.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    return ogp_fuzz::fuzz_chat(data, size, ogp::api_format::generic);
}
