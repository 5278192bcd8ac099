# ctest fixture: installs npm packages at pinned versions into PREFIX/node_modules, once per
# build tree (nothing to do when every one of them is already there at its version). Fails
# loudly when node or npm is missing: scripts/install-deps --test installs them.
# One package:
#   cmake -DNPM=<npm> -DNODE=<node> -DPREFIX=<dir> -DPACKAGE=<name> -DVERSION=<x.y.z or major>
#         -DWHY=<the tests that need it> -P npm_install.cmake
# Several packages, installed together by one `npm install` (so that they share dependencies):
#   cmake ... -DPACKAGES=<name@x.y.z>,<@scope/name@x.y.z>,... -DWHY=... -P npm_install.cmake
foreach(var NPM NODE PREFIX WHY)
    if(NOT DEFINED ${var})
        message(FATAL_ERROR "npm_install.cmake: -D${var}=... missing")
    endif()
endforeach()
set(names "")
set(versions "")
if(DEFINED PACKAGES)
    string(REPLACE "," ";" specs "${PACKAGES}")
    foreach(spec IN LISTS specs)
        # The version follows the last '@' (a scope starts with '@' too).
        string(FIND "${spec}" "@" at REVERSE)
        if(at LESS_EQUAL 0)
            message(FATAL_ERROR "npm_install.cmake: '${spec}' in -DPACKAGES is not name@version")
        endif()
        string(SUBSTRING "${spec}" 0 ${at} name)
        math(EXPR from "${at} + 1")
        string(SUBSTRING "${spec}" ${from} -1 version)
        list(APPEND names "${name}")
        list(APPEND versions "${version}")
    endforeach()
elseif(DEFINED PACKAGE AND DEFINED VERSION)
    set(names "${PACKAGE}")
    set(versions "${VERSION}")
else()
    message(FATAL_ERROR "npm_install.cmake: -DPACKAGE=... -DVERSION=... or -DPACKAGES=... missing")
endif()

# VERSION "6" accepts any 6.x.y; "2.142.1" only itself.
set(missing "")
set(wanted "")
foreach(name version IN ZIP_LISTS names versions)
    list(APPEND wanted "${name}@${version}")
    set(pkg "${PREFIX}/node_modules/${name}/package.json")
    string(REPLACE "." "\\." version_prefix "${version}")
    set(installed "")
    if(EXISTS "${pkg}")
        file(READ "${pkg}" manifest)
        string(JSON installed ERROR_VARIABLE json_error GET "${manifest}" version)
        if(NOT json_error AND (installed STREQUAL version OR installed MATCHES "^${version_prefix}\\."))
            message(STATUS "${name} ${installed} already installed in ${PREFIX}")
            continue()
        endif()
    endif()
    list(APPEND missing "${name}@${version}")
endforeach()
if(NOT missing)
    return()
endif()
foreach(tool NODE NPM)
    if(NOT ${tool} OR NOT EXISTS "${${tool}}")
        string(TOLOWER ${tool} name)
        message(FATAL_ERROR "${name} not found: ${WHY} need Node.js 20 and npm "
                            "(scripts/install-deps --test installs them); re-run cmake afterwards")
    endif()
endforeach()
file(MAKE_DIRECTORY "${PREFIX}")
# All of them at once (also those already there), so that npm resolves one consistent tree.
string(REPLACE ";" " " wanted_text "${wanted}")
execute_process(
    COMMAND "${NPM}" install --no-audit --no-fund --prefix "${PREFIX}" ${wanted}
    RESULT_VARIABLE rc
    TIMEOUT 280)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "npm install --prefix ${PREFIX} ${wanted_text} failed (${rc})")
endif()
foreach(name IN LISTS names)
    if(NOT EXISTS "${PREFIX}/node_modules/${name}/package.json")
        message(FATAL_ERROR "npm install --prefix ${PREFIX} ${wanted_text}: ${name} is missing")
    endif()
endforeach()
message(STATUS "${wanted_text} installed in ${PREFIX}")
