# Turns a text file into a C string (-DINPUT, -DOUTPUT, -DNAME).
file(READ ${INPUT} hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE ${OUTPUT}.tmp "/* Generated from ${INPUT} by cmake/embed_text.cmake. */\nconst char ${NAME}[] = {${bytes} 0};\n")
file(COPY_FILE ${OUTPUT}.tmp ${OUTPUT} ONLY_IF_DIFFERENT)
