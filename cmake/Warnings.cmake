# Warnings for every target of ours: add with ss_warnings(target).
function(ss_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wshadow -Wvla
    $<$<COMPILE_LANGUAGE:C>:-Wstrict-prototypes>)
  if(SS_ENABLE_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
