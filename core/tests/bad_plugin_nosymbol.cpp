// A shared library that is not a vgpu plugin at all.
extern "C" int not_a_vgpu_plugin() {
  return 42;
}
