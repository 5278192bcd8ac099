# ctest fixture: installs the official OpenAI SDK (openai@6) into PREFIX for the e2e SDK tests.
# cmake -DNPM=<npm> -DNODE=<node> -DPREFIX=<dir> -P npm_setup.cmake
set(pkg "${PREFIX}/node_modules/openai/package.json")
if(EXISTS "${pkg}")
    file(READ "${pkg}" manifest)
    string(JSON version ERROR_VARIABLE json_error GET "${manifest}" version)
    if(NOT json_error AND version MATCHES "^6\\.")
        message(STATUS "openai ${version} already installed in ${PREFIX}")
        return()
    endif()
endif()
if(NOT NODE OR NOT EXISTS "${NODE}")
    message(FATAL_ERROR "node not found: the OpenAI SDK tests need Node.js 20 and npm "
                        "(scripts/install-deps --test installs them); re-run cmake afterwards")
endif()
if(NOT NPM OR NOT EXISTS "${NPM}")
    message(FATAL_ERROR "npm not found: the OpenAI SDK tests need Node.js 20 and npm "
                        "(scripts/install-deps --test installs them); re-run cmake afterwards")
endif()
file(MAKE_DIRECTORY "${PREFIX}")
execute_process(
    COMMAND "${NPM}" install --no-audit --no-fund --prefix "${PREFIX}" openai@6
    RESULT_VARIABLE rc
    TIMEOUT 280)
if(NOT rc EQUAL 0 OR NOT EXISTS "${pkg}")
    message(FATAL_ERROR "npm install --prefix ${PREFIX} openai@6 failed (${rc})")
endif()
message(STATUS "openai installed in ${PREFIX}")
