// The guest's libcuda.so.1 (libvgpu-cuda) without a GPU: entry-point resolution and the private
// tables as the CUDA runtime finds them, and unmodified CUDA programs (built by nvcc, static
// cudart) meeting a real mediator that cannot run them: each gets "no device" and a message
// saying why. The GPU half is tests/remote_cuda/gpu_samples_test.sh.
#include <cublasLt.h>
#include <cuda.h>
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "../../guest/cuda/tests/cublas_linked_names.hpp"
#include "mediator_process.hpp"

using namespace vgpu::testing;

namespace {

class GuestDriver : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto path = build_dir() / "lib/vgpu-cuda/libcuda.so.1";
    handle_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(handle_, nullptr) << dlerror();
    get_proc_ = reinterpret_cast<decltype(get_proc_)>(dlsym(handle_, "cuGetProcAddress_v2"));
    get_table_ = reinterpret_cast<decltype(get_table_)>(dlsym(handle_, "cuGetExportTable"));
    ASSERT_TRUE(get_proc_ && get_table_);
  }
  void TearDown() override {
    if (handle_) dlclose(handle_);
  }
  CUresult (*get_proc_)(const char*, void**, int, cuuint64_t,
                        CUdriverProcAddressQueryResult*) = nullptr;
  CUresult (*get_table_)(const void**, const CUuuid*) = nullptr;
  void* handle_ = nullptr;
};

CUuuid uuid(std::initializer_list<unsigned> bytes) {
  CUuuid id{};
  int i = 0;
  for (auto b : bytes) id.bytes[i++] = static_cast<char>(b);
  return id;
}

TEST_F(GuestDriver, BaseNamesResolveToTheNewestVariant) {
  void* f = nullptr;
  CUdriverProcAddressQueryResult status{};
  ASSERT_EQ(get_proc_("cuMemAlloc", &f, 13000, CU_GET_PROC_ADDRESS_DEFAULT, &status), CUDA_SUCCESS);
  EXPECT_EQ(status, CU_GET_PROC_ADDRESS_SUCCESS);
  EXPECT_EQ(f, dlsym(handle_, "cuMemAlloc_v2"));
  ASSERT_EQ(get_proc_("cuGetProcAddress", &f, 12000, CU_GET_PROC_ADDRESS_DEFAULT, &status),
            CUDA_SUCCESS);
  EXPECT_EQ(f, reinterpret_cast<void*>(get_proc_));
  // The per-thread default stream variant is the same function here.
  void* g = nullptr;
  ASSERT_EQ(get_proc_("cuMemcpyHtoDAsync", &g, 13000, CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM,
                      &status),
            CUDA_SUCCESS);
  EXPECT_EQ(g, dlsym(handle_, "cuMemcpyHtoDAsync_v2"));
}

// cuBLAS and cuBLASLt 13.1 take these by name with dlsym (seen on the H100 with LD_DEBUG=symbols)
// and refuse to start if one is missing, whatever cuGetProcAddress offers.
TEST_F(GuestDriver, EveryNameCublasLinksByNameIsThere) {
#define VGPU_NAME_STRING(name) #name,
  const char* names[] = {VGPU_CUBLAS_LINKED_ENTRY_NAMES(VGPU_NAME_STRING)
                             VGPU_CUBLAS_LINKED_OTHER_NAMES(VGPU_NAME_STRING)};
#undef VGPU_NAME_STRING
  for (const char* name : names) EXPECT_NE(dlsym(handle_, name), nullptr) << name;
  // An old name runs the function its _v2 is; one not provided says so.
  EXPECT_NE(dlsym(handle_, "cuCtxPopCurrent"), dlsym(handle_, "cuGraphLaunch"));
  auto graph_launch =
      reinterpret_cast<CUresult (*)(CUgraphExec, CUstream)>(dlsym(handle_, "cuGraphLaunch"));
  EXPECT_EQ(graph_launch(nullptr, nullptr), CUDA_ERROR_NOT_SUPPORTED);
  auto can_access = reinterpret_cast<CUresult (*)(int*, CUdevice, CUdevice)>(
      dlsym(handle_, "cuDeviceCanAccessPeer"));
  int can = 1;
  EXPECT_EQ(can_access(&can, 0, 0), CUDA_SUCCESS);
  EXPECT_EQ(can, 0);
}

TEST_F(GuestDriver, AnOlderAbiThanImplementedIsVersionNotSufficient) {
  void* f = reinterpret_cast<void*>(1);
  CUdriverProcAddressQueryResult status{};
  EXPECT_EQ(get_proc_("cuMemAlloc", &f, 3000, CU_GET_PROC_ADDRESS_DEFAULT, &status),
            CUDA_ERROR_NOT_FOUND);
  EXPECT_EQ(status, CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT);
  EXPECT_EQ(f, nullptr);
}

TEST_F(GuestDriver, AnUnimplementedFunctionAnswersNotSupported) {
  void* f = nullptr;
  CUdriverProcAddressQueryResult status{};
  ASSERT_EQ(get_proc_("cuGraphLaunch", &f, 13000, CU_GET_PROC_ADDRESS_DEFAULT, &status),
            CUDA_SUCCESS);
  ASSERT_NE(f, nullptr);
  void* again = nullptr;
  get_proc_("cuGraphLaunch", &again, 13000, CU_GET_PROC_ADDRESS_DEFAULT, &status);
  EXPECT_EQ(again, f) << "one function per name";
  void* other = nullptr;
  get_proc_("cuGraphCreate", &other, 13000, CU_GET_PROC_ADDRESS_DEFAULT, &status);
  EXPECT_NE(other, f) << "each name its own, so the log can name it";
  EXPECT_EQ(reinterpret_cast<CUresult (*)()>(f)(), CUDA_ERROR_NOT_SUPPORTED);
  EXPECT_EQ(get_proc_("", &f, 13000, CU_GET_PROC_ADDRESS_DEFAULT, &status), CUDA_ERROR_NOT_FOUND);
}

TEST_F(GuestDriver, TheRuntimesPrivateTablesAreThere) {
  const CUuuid cudart = uuid({0x6b, 0xd5, 0xfb, 0x6c, 0x5b, 0xf4, 0xe7, 0x4a, 0x89, 0x87, 0xd9,
                              0x39, 0x12, 0xfd, 0x9d, 0xf9});
  const CUuuid integrity = uuid({0xd4, 0x08, 0x20, 0x55, 0xbd, 0xe6, 0x70, 0x4b, 0x8d, 0x34, 0xba,
                                 0x12, 0x3c, 0x66, 0xe1, 0xf2});
  const CUuuid hooks = uuid({0xa0, 0x94, 0x79, 0x8c, 0x2e, 0x74, 0x2e, 0x74, 0x93, 0xf2, 0x08, 0x00,
                             0x20, 0x0c, 0x0a, 0x66});
  const void* table = nullptr;
  ASSERT_EQ(get_table_(&table, &cudart), CUDA_SUCCESS);
  EXPECT_EQ(static_cast<void* const*>(table)[0], reinterpret_cast<void*>(13 * sizeof(void*)));
  ASSERT_EQ(get_table_(&table, &hooks), CUDA_SUCCESS);
  void* area = nullptr;
  std::size_t size = 0;
  reinterpret_cast<void (*)(void**, std::size_t*)>(static_cast<void* const*>(table)[2])(&area,
                                                                                        &size);
  EXPECT_NE(area, nullptr);
  EXPECT_GT(size, 0u);
  ASSERT_EQ(get_table_(&table, &integrity), CUDA_SUCCESS);
  auto check = reinterpret_cast<CUresult (*)(unsigned, std::uint64_t, std::uint64_t*)>(
      static_cast<void* const*>(table)[1]);
  std::uint64_t answer[2] = {};
  ASSERT_EQ(check(20, 1700000000, answer), CUDA_SUCCESS);
  EXPECT_EQ(answer[0], 0x3341181c03cb675cull) << "versions ending in 0 get the fixed answer";
  std::uint64_t first[2] = {}, second[2] = {};
  check(12, 1700000000, first);
  check(12, 1700000001, second);
  EXPECT_NE(std::memcmp(first, second, sizeof first), 0) << "the challenge's time is hashed";
  // The runtime asks for a table that lets it skip its own start-up; it must be told "no".
  const CUuuid skip = uuid({0xf8, 0xcf, 0xf9, 0x51, 0x21, 0x46, 0x8b, 0x4e, 0xb9, 0xe2, 0xfb, 0x46,
                            0x9e, 0x7c, 0x0d, 0xd9});
  EXPECT_EQ(get_table_(&table, &skip), CUDA_ERROR_NOT_FOUND);
  EXPECT_EQ(table, nullptr);
}

std::string sample_command(const std::string& sample, const std::string& env) {
  return env + " LD_LIBRARY_PATH=" + (build_dir() / "lib/vgpu-cuda").string() + " " +
         program("cuda-sample-" + sample).string() + " 2>&1";
}

TEST(RemoteCudaWithoutGpu, AProgramGetsNoDeviceAndTheMediatorsReason) {
  MediatorProcess m({{"tenant", "A", "high"}});
  const auto& vm = m.vm("tenant");
  const auto r = run_command(sample_command(
      "vector_add", "VGPU_PORT=" + std::to_string(m.port()) +
                        " VGPU_VM_ID=" + std::to_string(vm.vm_id) + " VGPU_TOKEN=" + vm.token));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("cudaErrorNoDevice"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("the mediator refused a CUDA session"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("cuda.open"), std::string::npos) << r.output;
  EXPECT_TRUE(m.running()) << "the mediator serves on";
}

TEST(RemoteCudaWithoutGpu, AWrongTokenIsRefusedBeforeAnySession) {
  MediatorProcess m({{"tenant", "A", "high"}});
  const auto r = run_command(sample_command(
      "device_query", "VGPU_PORT=" + std::to_string(m.port()) + " VGPU_VM_ID=" +
                          std::to_string(m.vm("tenant").vm_id) + " VGPU_TOKEN=not-the-token"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("cudaErrorNoDevice"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("cannot reach the mediator"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("unauthenticated"), std::string::npos) << r.output;
}

TEST(RemoteCudaWithoutGpu, NoMediatorMeansNoDevice) {
  const auto r =
      run_command(sample_command("device_query", "VGPU_PORT=1 VGPU_VM_ID=1 VGPU_TOKEN=x"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("cudaErrorNoDevice"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("cannot reach the mediator"), std::string::npos) << r.output;
}

// Every name a guest library's generated stubs (build/guest/cuda/`stubs_file`) were made from is
// a symbol of `handle` under `version`, as NVIDIA's library has it; returns how many there are.
int expect_every_stubbed_name(void* handle, const char* stubs_file, const char* version) {
  FILE* stubs = std::fopen((build_dir() / "guest/cuda" / stubs_file).c_str(), "r");
  EXPECT_NE(stubs, nullptr) << stubs_file;
  if (!stubs) return 0;
  char line[256];
  int names = 0;
  while (std::fgets(line, sizeof line, stubs)) {
    std::string name(line);
    if (name.rfind("VGPU_CUBLAS_STUB(", 0) != 0) continue;
    name = name.substr(17, name.find(')') - 17);
    ++names;
    EXPECT_NE(dlvsym(handle, name.c_str(), version), nullptr) << name;
  }
  std::fclose(stubs);
  return names;
}

// The guest's cuBLAS (libvgpu-cublas as libcublas.so.13): a program linked against NVIDIA's
// cuBLAS loads it in its place (every name, the same symbol version), and without a mediator
// it gets no device rather than a loader error.
TEST(GuestCublas, AProgramLinkedAgainstCublasLoadsTheGuestsOne) {
  const auto r = run_command(
      "LD_DEBUG=libs " + sample_command("cublas_gemm", "VGPU_PORT=1 VGPU_VM_ID=1 VGPU_TOKEN=x"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  // The dynamic linker ran the guest's cuBLAS, not NVIDIA's.
  EXPECT_NE(
      r.output.find("calling init: " + (build_dir() / "lib/vgpu-cuda/libcublas.so.13").string()),
      std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("version `libcublas.so.13' not found"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("failed: cudaErrorNoDevice"), std::string::npos) << r.output;
}

TEST(GuestCublas, EveryNameOfTheRealLibraryIsThereAndTheRestSaysNotSupported) {
  const auto lib = build_dir() / "lib/vgpu-cuda/libcublas.so.13";
  void* handle = dlopen(lib.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(handle, nullptr) << dlerror();
  // The names the stubs were made from: those NVIDIA's libcublas.so.13 exports.
  EXPECT_GT(expect_every_stubbed_name(handle, "cublas_stubs.cpp", "libcublas.so.13"), 500);
  // One not run on the host says so; the GEMM family is implemented, not stubbed.
  auto axpy = reinterpret_cast<int (*)()>(dlsym(handle, "cublasAxpyEx"));
  ASSERT_NE(axpy, nullptr);
  EXPECT_EQ(axpy(), 15);  // CUBLAS_STATUS_NOT_SUPPORTED
  using Sgemm = int (*)(void*, int, int, int, int, int, const float*, const float*, int,
                        const float*, int, const float*, float*, int);
  auto sgemm = reinterpret_cast<Sgemm>(dlsym(handle, "cublasSgemm_v2"));
  ASSERT_NE(sgemm, nullptr);
  const float one = 1;
  EXPECT_EQ(sgemm(nullptr, 0, 0, 4, 4, 4, &one, nullptr, 4, nullptr, 4, &one, nullptr, 4),
            1);  // CUBLAS_STATUS_NOT_INITIALIZED: no handle
  dlclose(handle);
}

// The guest's cuBLASLt (libvgpu-cublaslt as libcublasLt.so.13): every name of NVIDIA's library
// under its version; handles and descriptors made and destroyed; a heuristic that finds no
// algorithm for any product (which PyTorch answers by running the product through cuBLAS).
TEST(GuestCublasLt, EveryNameIsThereAndTheHeuristicFindsNoAlgorithm) {
  const auto lib = build_dir() / "lib/vgpu-cuda/libcublasLt.so.13";
  void* handle = dlopen(lib.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(handle, nullptr) << dlerror();
  EXPECT_GT(expect_every_stubbed_name(handle, "cublasLt_stubs.cpp", "libcublasLt.so.13"), 150);
  auto fn = [&](const char* name) {
    void* f = dlsym(handle, name);
    EXPECT_NE(f, nullptr) << name;
    return f;
  };
  auto version = reinterpret_cast<std::size_t (*)()>(fn("cublasLtGetVersion"));
  EXPECT_EQ(version(), std::size_t(CUBLAS_VERSION));
  using Create = int (*)(void**);
  void* lt = nullptr;
  ASSERT_EQ(reinterpret_cast<Create>(fn("cublasLtCreate"))(&lt), 0);
  void* desc = nullptr;
  ASSERT_EQ(reinterpret_cast<int (*)(void**, int, int)>(fn("cublasLtMatmulDescCreate"))(
                &desc, CUBLAS_COMPUTE_32F, CUDA_R_32F),
            0);
  auto set_desc = reinterpret_cast<int (*)(void*, int, const void*, std::size_t)>(
      fn("cublasLtMatmulDescSetAttribute"));
  const std::int32_t transpose = 1;
  EXPECT_EQ(set_desc(desc, 0, &transpose, sizeof transpose), 0);
  EXPECT_EQ(set_desc(desc, 0, nullptr, 4), 7) << "CUBLAS_STATUS_INVALID_VALUE";
  auto layout_create =
      reinterpret_cast<int (*)(void**, int, std::uint64_t, std::uint64_t, std::int64_t)>(
          fn("cublasLtMatrixLayoutCreate"));
  void *a = nullptr, *b = nullptr, *c = nullptr, *pref = nullptr;
  ASSERT_EQ(layout_create(&a, CUDA_R_32F, 64, 32, 64), 0);
  ASSERT_EQ(layout_create(&b, CUDA_R_32F, 32, 16, 32), 0);
  ASSERT_EQ(layout_create(&c, CUDA_R_32F, 64, 16, 64), 0);
  ASSERT_EQ(reinterpret_cast<Create>(fn("cublasLtMatmulPreferenceCreate"))(&pref), 0);
  using Heuristic = int (*)(void*, void*, void*, void*, void*, void*, void*, int, void*, int*);
  auto heuristic = reinterpret_cast<Heuristic>(fn("cublasLtMatmulAlgoGetHeuristic"));
  cublasLtMatmulHeuristicResult_t result{};
  int returned = -1;
  EXPECT_EQ(heuristic(lt, desc, a, b, c, c, pref, 1, &result, &returned), 0);
  EXPECT_EQ(returned, 0) << "no algorithm: the caller must take another way";
  EXPECT_EQ(heuristic(nullptr, desc, a, b, c, c, pref, 1, &result, &returned), 1)
      << "CUBLAS_STATUS_NOT_INITIALIZED";
  // The product itself is not run here, and says so.
  EXPECT_EQ(reinterpret_cast<int (*)()>(fn("cublasLtMatmul"))(), 15);
  for (auto [name, object] : {std::pair{"cublasLtMatrixLayoutDestroy", a},
                              {"cublasLtMatrixLayoutDestroy", b},
                              {"cublasLtMatrixLayoutDestroy", c},
                              {"cublasLtMatmulPreferenceDestroy", pref},
                              {"cublasLtMatmulDescDestroy", desc},
                              {"cublasLtDestroy", lt}})
    EXPECT_EQ(reinterpret_cast<int (*)(void*)>(fn(name))(object), 0) << name;
  dlclose(handle);
}

// With VGPU_CUDA_LOG=2, a library that reads through a bad pointer is named before the program
// dies of it as it would have. The fault happens in a child (this binary again, running only
// the child test below), whose stderr and end are checked here.
TEST(GuestDriverFaults, AFaultSaysWhereBeforeTheProgramDiesOfIt) {
  const std::string command =
      "VGPU_FAULT_CHILD=1 VGPU_CUDA_LOG=2 VGPU_PORT=1 VGPU_VM_ID=1 "
      "/proc/" +
      std::to_string(getpid()) + "/exe --gtest_filter=GuestDriverFaults.Child 2>&1";
  FILE* child = popen(command.c_str(), "r");
  ASSERT_NE(child, nullptr);
  std::string output;
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, child)) output += buffer;
  const int status = pclose(child);
  EXPECT_NE(output.find("vgpu-cuda: fault reading 0x28 at "), std::string::npos) << output;
  EXPECT_NE(output.find("the context handle is 0x"), std::string::npos) << output;
  // It still dies of the fault (the shell reports a signal as 128 + its number).
  ASSERT_TRUE(WIFEXITED(status)) << output;
  EXPECT_EQ(WEXITSTATUS(status), 128 + SIGSEGV) << output;
}

TEST(GuestDriverFaults, Child) {
  if (!std::getenv("VGPU_FAULT_CHILD")) GTEST_SKIP() << "runs only as the child of the test above";
  const auto path = build_dir() / "lib/vgpu-cuda/libcuda.so.1";
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(handle, nullptr) << dlerror();
  auto init = reinterpret_cast<CUresult (*)(unsigned)>(dlsym(handle, "cuInit"));
  ASSERT_NE(init, nullptr);
  init(0);  // no mediator on port 1: it fails, but the reporter is in place
  // Address 0x28, made at run time so that the compiler cannot see the read is bad.
  const auto* bad =
      reinterpret_cast<volatile const std::uint64_t*>(std::strtoull("40", nullptr, 10));
  std::printf("%llu\n", static_cast<unsigned long long>(*bad));
}

}  // namespace
