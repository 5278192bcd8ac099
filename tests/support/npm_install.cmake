# ctest fixture: installs one npm package at a pinned version into PREFIX/node_modules, once per
# build tree (nothing to do when that version is already there). Fails loudly when node or npm
# is missing: scripts/install-deps --test installs them.
# cmake -DNPM=<npm> -DNODE=<node> -DPREFIX=<dir> -DPACKAGE=<name> -DVERSION=<x.y.z or major>
#       -DWHY=<the tests that need it> -P npm_install.cmake
foreach(var NPM NODE PREFIX PACKAGE VERSION WHY)
    if(NOT DEFINED ${var})
        message(FATAL_ERROR "npm_install.cmake: -D${var}=... missing")
    endif()
endforeach()
set(pkg "${PREFIX}/node_modules/${PACKAGE}/package.json")
# VERSION "6" accepts any 6.x.y; "2.142.1" only itself.
string(REPLACE "." "\\." version_prefix "${VERSION}")
if(EXISTS "${pkg}")
    file(READ "${pkg}" manifest)
    string(JSON installed ERROR_VARIABLE json_error GET "${manifest}" version)
    if(NOT json_error AND (installed STREQUAL VERSION OR installed MATCHES "^${version_prefix}\\."))
        message(STATUS "${PACKAGE} ${installed} already installed in ${PREFIX}")
        return()
    endif()
endif()
foreach(tool NODE NPM)
    if(NOT ${tool} OR NOT EXISTS "${${tool}}")
        string(TOLOWER ${tool} name)
        message(FATAL_ERROR "${name} not found: ${WHY} need Node.js 20 and npm "
                            "(scripts/install-deps --test installs them); re-run cmake afterwards")
    endif()
endforeach()
file(MAKE_DIRECTORY "${PREFIX}")
execute_process(
    COMMAND "${NPM}" install --no-audit --no-fund --prefix "${PREFIX}" "${PACKAGE}@${VERSION}"
    RESULT_VARIABLE rc
    TIMEOUT 280)
if(NOT rc EQUAL 0 OR NOT EXISTS "${pkg}")
    message(FATAL_ERROR "npm install --prefix ${PREFIX} ${PACKAGE}@${VERSION} failed (${rc})")
endif()
message(STATUS "${PACKAGE}@${VERSION} installed in ${PREFIX}")
