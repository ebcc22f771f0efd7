# Writes a man page (section 1) for PROGRAM from its --help: NAME, a SYNOPSIS and the options as the program
# prints them, and where the full documentation is. Run at install time: cmake -DPROGRAM=... -DOUT=... -P.
execute_process(COMMAND ${PROGRAM} --help OUTPUT_VARIABLE help RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "${PROGRAM} --help failed: ${status}")
endif()
get_filename_component(name ${PROGRAM} NAME)
string(REPLACE "\\" "\\\\" help "${help}")
string(REGEX REPLACE "\n\\." "\n\\\\&." help "${help}")
string(REGEX REPLACE "^([^\n]*)\n.*" "\\1" summary "${help}")
string(TOUPPER ${name} upper)
file(WRITE ${OUT} ".TH ${upper} 1 \"\" \"allocmon ${VERSION}\" \"allocmon\"\n.SH NAME\n${name} \\- ${summary}\n"
     ".SH DESCRIPTION\n.nf\n${help}.fi\n.SH SEE ALSO\nThe documentation in share/doc/allocmon (README.md, docs/*.md).\n")
