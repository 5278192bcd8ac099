# Strict warnings on our own targets only (system headers are exempt).
# GCC 12 at -O2/-O3 reports well-known false positives from inlined std::string code
# (array-bounds, stringop-overflow/overread, restrict; GCC bugs 105329, 105651, 106199), and
# with sanitizers a mismatched-new-delete report on Asio's coroutine frames (operator new/delete
# of awaitable_frame_base): they stay visible as warnings but do not fail the build.
function(ogp_warnings target)
    target_compile_options(${target} PRIVATE -Wall -Wextra -Werror -Wno-missing-field-initializers)
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
        target_compile_options(${target} PRIVATE
            -Wno-error=array-bounds -Wno-error=stringop-overflow -Wno-error=stringop-overread
            -Wno-error=restrict -Wno-error=mismatched-new-delete)
    endif()
endfunction()
