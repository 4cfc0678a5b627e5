/* Fused Kokoro vocoder activations: an onnxruntime custom-operator library.
 *
 * Kokoro's iSTFTNet vocoder runs, before each of its 48 convolutions, an AdaIN (instance norm
 * of each channel over time, scaled and shifted by the style) and a Snake activation,
 * x + 1/alpha * sin(alpha * x)^2. The export spells them as 14 elementwise and reduction nodes,
 * each a full pass over a tensor of channels x frames, and onnxruntime's Sin is a scalar loop
 * on one thread: together about a third of the graph's time. Here each is one pass per channel
 * row, on the session's threads, with a vectorizable sine.
 *
 * Operators (domain "voxclone.kokoro"; float32, x is [N, C, T], parameters have 1 or C values,
 * or N * C for gain and shift):
 *   Snake(x, alpha, inv_alpha) -> x + inv_alpha * sin(alpha * x)^2
 *   AdaINSnake(x, gain, shift, alpha, inv_alpha, eps) -> Snake(h), where
 *       h = (x - mean) / sqrt(var + eps) * gain + shift, mean and var over T per (n, c)
 *
 * Built by voxclone.engines.kokoro_ops with the C compiler of the host; it needs only
 * onnxruntime's C API header (include/, MIT, vendored unmodified from onnxruntime 1.23) and
 * asks the runtime for API version 16, so any onnxruntime >= 1.16 loads it. The design of
 * the Snake kernel (one pass per row through KernelContext_ParallelFor) follows kokoro-pi's
 * snake_op.cpp (MIT, LICENSE-kokoro-pi); the code is written for the C API.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "onnxruntime_c_api.h"

#define VOXCLONE_ORT_API 16
#define DOMAIN "voxclone.kokoro"

static const OrtApi* ort = NULL;

#define RETURN_IF_ERROR(expr)            \
  do {                                   \
    OrtStatus* status_ = (expr);         \
    if (status_ != NULL) return status_; \
  } while (0)

/* sin(t)^2 = sin(r)^2 with r = t - q*pi, |r| <= pi/2: the sign of sin never matters here.
 * q is rounded with the 1.5 * 2^23 trick (no rounding instruction needed, exact for
 * |t/pi| < 2^22), pi is split in three (Cephes' constants, times 4) so that q * pi loses no
 * bits, and sin(r) is its Taylor series to r^13 (error below 1e-9 on [-pi/2, pi/2]). Plain
 * loops of this are vectorized by the compiler. */
#if defined(__GNUC__)
#define INLINE inline __attribute__((always_inline)) /* also into the vector clones below */
#else
#define INLINE inline
#endif
#define ROUNDER 12582912.0f
#define INV_PI 0.318309886183790671538f
#define PI_A 3.140625f
#define PI_B 9.67502593994140625e-4f
#define PI_C 1.509957990978376432e-7f

static INLINE float sine_squared(float t) {
  float q = (t * INV_PI + ROUNDER) - ROUNDER;
  float r = ((t - q * PI_A) - q * PI_B) - q * PI_C;
  float r2 = r * r;
  float p = 1.6059043836821614599e-10f;
  p = p * r2 - 2.5052108385441718775e-8f;
  p = p * r2 + 2.7557319223985890653e-6f;
  p = p * r2 - 1.9841269841269841270e-4f;
  p = p * r2 + 8.3333333333333333333e-3f;
  p = p * r2 - 1.6666666666666666667e-1f;
  float s = r + r * r2 * p;
  return s * s;
}

#if defined(__x86_64__) && defined(__GNUC__) && defined(__linux__)
#define VECTOR_CLONES __attribute__((target_clones("arch=haswell", "default")))
#else
#define VECTOR_CLONES
#endif

VECTOR_CLONES
static void snake_row(const float* x, float* y, size_t n, float a, float inv) {
  for (size_t i = 0; i < n; ++i) y[i] = x[i] + inv * sine_squared(a * x[i]);
}

/* Sums in 8 float lanes (vectorized), the lanes added in double. */
#define LANES 8

VECTOR_CLONES
static void adain_snake_row(const float* x, float* y, size_t n, float gain, float shift,
                            float eps, float a, float inv) {
  float lane[LANES] = {0};
  size_t whole = n / LANES * LANES;
  for (size_t i = 0; i < whole; i += LANES)
    for (size_t j = 0; j < LANES; ++j) lane[j] += x[i + j];
  double sum = 0.0;
  for (size_t j = 0; j < LANES; ++j) sum += lane[j];
  for (size_t i = whole; i < n; ++i) sum += x[i];
  const float mean = (float)(sum / (double)n);
  for (size_t j = 0; j < LANES; ++j) lane[j] = 0.0f;
  for (size_t i = 0; i < whole; i += LANES)
    for (size_t j = 0; j < LANES; ++j) {
      const float d = x[i + j] - mean;
      lane[j] += d * d;
    }
  double squares = 0.0;
  for (size_t j = 0; j < LANES; ++j) squares += lane[j];
  for (size_t i = whole; i < n; ++i) squares += (double)((x[i] - mean) * (x[i] - mean));
  const float scale = gain / sqrtf((float)(squares / (double)n) + eps);
  for (size_t i = 0; i < n; ++i) {
    const float h = (x[i] - mean) * scale + shift;
    y[i] = h + inv * sine_squared(a * h);
  }
}

typedef struct {
  const float* x;
  float* y;
  const float* p[5]; /* gain, shift, alpha, inv_alpha (Snake: alpha, inv_alpha only) */
  size_t count[5];
  size_t channels, rows, width;
  float eps;
  int fused_norm;
} Work;

static float parameter(const Work* w, int k, size_t row) {
  size_t count = w->count[k];
  if (count == 1) return w->p[k][0];
  if (count == w->channels) return w->p[k][row % w->channels];
  return w->p[k][row];
}

static void run_row(void* data, size_t row) {
  const Work* w = (const Work*)data;
  const float* x = w->x + row * w->width;
  float* y = w->y + row * w->width;
  if (w->fused_norm) {
    adain_snake_row(x, y, w->width, parameter(w, 0, row), parameter(w, 1, row), w->eps,
                    parameter(w, 2, row), parameter(w, 3, row));
  } else {
    snake_row(x, y, w->width, parameter(w, 2, row), parameter(w, 3, row));
  }
}

static OrtStatus* fail(const char* message) { return ort->CreateStatus(ORT_INVALID_ARGUMENT, message); }

static OrtStatus* element_count(const OrtValue* value, size_t* count) {
  OrtTensorTypeAndShapeInfo* info = NULL;
  RETURN_IF_ERROR(ort->GetTensorTypeAndShape(value, &info));
  OrtStatus* status = ort->GetTensorShapeElementCount(info, count);
  ort->ReleaseTensorTypeAndShapeInfo(info);
  return status;
}

static OrtStatus* compute(OrtKernelContext* context, int fused_norm) {
  const OrtValue* input = NULL;
  RETURN_IF_ERROR(ort->KernelContext_GetInput(context, 0, &input));
  OrtTensorTypeAndShapeInfo* info = NULL;
  RETURN_IF_ERROR(ort->GetTensorTypeAndShape(input, &info));
  size_t rank = 0;
  int64_t dims[3] = {0, 0, 0};
  OrtStatus* status = ort->GetDimensionsCount(info, &rank);
  if (status == NULL && rank == 3) status = ort->GetDimensions(info, dims, 3);
  ort->ReleaseTensorTypeAndShapeInfo(info);
  RETURN_IF_ERROR(status);
  if (rank != 3 || dims[0] < 0 || dims[1] < 1 || dims[2] < 0) {
    return fail("voxclone.kokoro: the input must be [N, C, T] with C >= 1");
  }
  Work w = {0};
  w.fused_norm = fused_norm;
  w.channels = (size_t)dims[1];
  w.rows = (size_t)dims[0] * w.channels;
  w.width = (size_t)dims[2];
  const int first = fused_norm ? 0 : 2; /* Snake's inputs 1 and 2 are alpha and inv_alpha */
  for (int k = first; k < 4; ++k) {
    const OrtValue* value = NULL;
    RETURN_IF_ERROR(ort->KernelContext_GetInput(context, (size_t)(k - first + 1), &value));
    RETURN_IF_ERROR(element_count(value, &w.count[k]));
    if (w.count[k] != 1 && w.count[k] != w.channels && (k > 1 || w.count[k] != w.rows)) {
      return fail("voxclone.kokoro: a parameter must have 1 or C values (gain, shift: or N*C)");
    }
    RETURN_IF_ERROR(ort->GetTensorMutableData((OrtValue*)value, (void**)&w.p[k]));
  }
  if (fused_norm) {
    const OrtValue* value = NULL;
    const float* eps = NULL;
    size_t count = 0;
    RETURN_IF_ERROR(ort->KernelContext_GetInput(context, 5, &value));
    RETURN_IF_ERROR(element_count(value, &count));
    if (count != 1) return fail("voxclone.kokoro: AdaINSnake's eps must be one value");
    RETURN_IF_ERROR(ort->GetTensorMutableData((OrtValue*)value, (void**)&eps));
    w.eps = eps[0];
  }
  OrtValue* output = NULL;
  RETURN_IF_ERROR(ort->KernelContext_GetOutput(context, 0, dims, 3, &output));
  RETURN_IF_ERROR(ort->GetTensorMutableData((OrtValue*)input, (void**)&w.x));
  RETURN_IF_ERROR(ort->GetTensorMutableData(output, (void**)&w.y));
  if (w.rows == 0 || w.width == 0) return NULL;
  return ort->KernelContext_ParallelFor(context, run_row, w.rows, 0, &w);
}

/* --- the OrtCustomOp boilerplate --- */

typedef struct {
  OrtCustomOp op;
  const char* name;
  size_t inputs;
  int fused_norm;
} Op;

static OrtStatus* ORT_API_CALL create_kernel(const OrtCustomOp* op, const OrtApi* api,
                                             const OrtKernelInfo* info, void** kernel) {
  (void)api;
  (void)info;
  *kernel = (void*)op; /* stateless: the kernel is the op */
  return NULL;
}

static OrtStatus* ORT_API_CALL kernel_compute(void* kernel, OrtKernelContext* context) {
  return compute(context, ((const Op*)kernel)->fused_norm);
}

static void ORT_API_CALL kernel_destroy(void* kernel) { (void)kernel; }

static const char* ORT_API_CALL get_name(const OrtCustomOp* op) { return ((const Op*)op)->name; }

static const char* ORT_API_CALL get_provider(const OrtCustomOp* op) {
  (void)op;
  return "CPUExecutionProvider";
}

static ONNXTensorElementDataType ORT_API_CALL get_type(const OrtCustomOp* op, size_t index) {
  (void)op;
  (void)index;
  return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
}

static size_t ORT_API_CALL get_input_count(const OrtCustomOp* op) {
  return ((const Op*)op)->inputs;
}

static size_t ORT_API_CALL get_output_count(const OrtCustomOp* op) {
  (void)op;
  return 1;
}

static OrtCustomOpInputOutputCharacteristic ORT_API_CALL required(const OrtCustomOp* op,
                                                                 size_t index) {
  (void)op;
  (void)index;
  return INPUT_OUTPUT_REQUIRED;
}

static OrtMemType ORT_API_CALL memory_type(const OrtCustomOp* op, size_t index) {
  (void)op;
  (void)index;
  return OrtMemTypeDefault;
}

static void init_op(Op* op, const char* name, size_t inputs, int fused_norm) {
  OrtCustomOp* c = &op->op;
  c->version = VOXCLONE_ORT_API;
  c->CreateKernelV2 = create_kernel;
  c->KernelComputeV2 = kernel_compute;
  c->KernelDestroy = kernel_destroy;
  c->GetName = get_name;
  c->GetExecutionProviderType = get_provider;
  c->GetInputType = get_type;
  c->GetInputTypeCount = get_input_count;
  c->GetOutputType = get_type;
  c->GetOutputTypeCount = get_output_count;
  c->GetInputCharacteristic = required;
  c->GetOutputCharacteristic = required;
  c->GetInputMemoryType = memory_type;
  op->name = name;
  op->inputs = inputs;
  op->fused_norm = fused_norm;
}

static Op snake_op, adain_snake_op;

#if defined(_WIN32)
#define EXPORT __declspec(dllexport)
#else
#define EXPORT __attribute__((visibility("default")))
#endif

EXPORT OrtStatus* ORT_API_CALL RegisterCustomOps(OrtSessionOptions* options,
                                                 const OrtApiBase* base) {
  /* One domain for every session, made on the first call; it must outlive the sessions. */
  static OrtCustomOpDomain* domain = NULL;
  ort = base->GetApi(VOXCLONE_ORT_API);
  if (ort == NULL) return NULL; /* cannot even make a status: the session then lacks the ops */
  if (domain == NULL) {
    init_op(&snake_op, "Snake", 3, 0);
    init_op(&adain_snake_op, "AdaINSnake", 6, 1);
    RETURN_IF_ERROR(ort->CreateCustomOpDomain(DOMAIN, &domain));
    RETURN_IF_ERROR(ort->CustomOpDomain_Add(domain, &snake_op.op));
    RETURN_IF_ERROR(ort->CustomOpDomain_Add(domain, &adain_snake_op.op));
  }
  return ort->AddCustomOpDomain(options, domain);
}
