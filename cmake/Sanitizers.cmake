# OGP_SANITIZE=ON: ASan + UBSan on every target, abort on the first UBSan report.
if(OGP_SANITIZE)
    add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
    add_link_options(-fsanitize=address,undefined)
endif()
