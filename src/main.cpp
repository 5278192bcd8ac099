// oci-genai-proxy: entry point. Parses arguments and hands over to ogp::run_daemon().
#include "ogp/app/app.hpp"

int main(int argc, char** argv)
{
    return ogp::run_daemon(argc, argv);
}
