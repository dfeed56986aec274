# Extract the C block after the "readme-example" marker in README.md into
# OUT, so the example in the README is compiled and run by the tests.
file(READ ${README} text)
string(FIND "${text}" "<!-- readme-example" start)
if(start EQUAL -1)
  message(FATAL_ERROR "README.md has no readme-example marker")
endif()
string(SUBSTRING "${text}" ${start} -1 text)
string(FIND "${text}" "```c\n" open)
math(EXPR open "${open} + 5")
string(SUBSTRING "${text}" ${open} -1 text)
string(FIND "${text}" "```" close)
string(SUBSTRING "${text}" 0 ${close} code)
file(WRITE ${OUT} "${code}")
