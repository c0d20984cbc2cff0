# test_tiny_net links a small net that vggc generates at build time: every layer kind, odd maps, batch 2.
# It is built once per conv algorithm (--conv): test_tiny_net with the automatic choice, and
# test_tiny_net_<algo> with each algorithm forced, so every kernel path runs inside a whole generated net.
function(vggc_tiny_net target conv)
  set(dir ${CMAKE_CURRENT_BINARY_DIR}/gen_${conv})
  file(MAKE_DIRECTORY ${dir})
  add_custom_command(
    OUTPUT ${dir}/tiny.c ${dir}/tiny.h
    COMMAND vggc generate "4,L,M,6,5:1,M" --batch-norm --input 2x9x7 --avgpool 3x2 --classifier 10 --classes 5
            --batch 2 --conv ${conv} --name tiny -o ${dir}
    DEPENDS vggc
    VERBATIM)
  if(NOT TARGET ${target})
    add_executable(${target} ${CMAKE_CURRENT_SOURCE_DIR}/test_tiny_net.c)
    target_compile_options(${target} PRIVATE ${VGGC_WARNINGS})
    target_link_libraries(${target} PRIVATE vggc_test_helpers)
    add_test(NAME ${target} COMMAND ${target} --jobs 1)
  endif()
  target_sources(${target} PRIVATE ${dir}/tiny.c)
  target_include_directories(${target} PRIVATE ${dir})
endfunction()

vggc_tiny_net(test_tiny_net auto)
foreach(conv im2col direct winograd2 winograd3 winograd4 winograd5 winograd6)
  vggc_tiny_net(test_tiny_net_${conv} ${conv})
endforeach()
