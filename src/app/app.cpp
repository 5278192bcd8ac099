#include "ogp/app/app.hpp"

namespace ogp {

int run_daemon(int, char**)
{
    return 1;
}

}  // namespace ogp
