# Strict warnings on our own targets only (system headers are exempt).
function(ogp_warnings target)
    target_compile_options(${target} PRIVATE -Wall -Wextra -Werror -Wno-missing-field-initializers)
endfunction()
