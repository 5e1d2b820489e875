"""One binary (or test) per process allocator.

Linking libmimalloc, libjemalloc or libtcmalloc replaces malloc for the whole process, so a
comparison of process allocators needs one binary per allocator. These macros stamp out
`<name>_<malloc>` targets that differ only in Bazel's `malloc` attribute and in two defines:

  HAMT_EXPECTED_PROCESS_MALLOC="<malloc>"  (a string literal; allocators::CheckProcessMallocOrDie()
                                           compares it with what the dynamic linker actually chose)
  HAMT_PROCESS_MALLOC_<MALLOC>=1           (for #if in the source)

Non-glibc variants are tagged `no_sanitizer`: under ASan the sanitizer owns malloc, so their
identity check would rightly fail. Tests also get GLIBC_TUNABLES=glibc.rtld.optional_static_tls=16384
so that libjemalloc.so.2 can be dlopen'ed privately (allocators/private_library.h); binaries should
call allocators::ReexecWithStaticTlsIfNeeded(argc, argv) first thing in main().

`name` itself becomes a test_suite (tests) or a filegroup (binaries) of all variants.
"""

PROCESS_MALLOCS = ["glibc", "mimalloc", "jemalloc", "tcmalloc"]

STATIC_TLS_ENV = {"GLIBC_TUNABLES": "glibc.rtld.optional_static_tls=16384"}

def _variant_attrs(malloc, local_defines, tags):
    if malloc not in PROCESS_MALLOCS:
        fail("unknown process malloc '%s'; expected one of %s" % (malloc, PROCESS_MALLOCS))
    return dict(
        malloc = "//bazel:malloc_" + malloc,
        local_defines = local_defines + [
            # Bazel shell-tokenizes defines: \" survives as " and the macro is a string literal.
            "HAMT_EXPECTED_PROCESS_MALLOC=\\\"%s\\\"" % malloc,
            "HAMT_PROCESS_MALLOC_%s=1" % malloc.upper(),
        ],
        tags = tags + ([] if malloc == "glibc" else ["no_sanitizer"]),
    )

def cc_binary_per_malloc(name, mallocs = PROCESS_MALLOCS, local_defines = [], tags = [], **kwargs):
    """cc_binary `<name>_<m>` for each m in mallocs, plus filegroup `name` of them all."""
    for m in mallocs:
        native.cc_binary(
            name = "%s_%s" % (name, m),
            **dict(kwargs, **_variant_attrs(m, local_defines, tags))
        )
    native.filegroup(
        name = name,
        srcs = [":%s_%s" % (name, m) for m in mallocs],
        tags = tags,
        testonly = kwargs.get("testonly", False),
    )

def cc_test_per_malloc(name, mallocs = PROCESS_MALLOCS, local_defines = [], tags = [], env = {}, **kwargs):
    """cc_test `<name>_<m>` for each m in mallocs, plus test_suite `name` of them all."""
    for m in mallocs:
        native.cc_test(
            name = "%s_%s" % (name, m),
            env = dict(STATIC_TLS_ENV, **env),
            **dict(kwargs, **_variant_attrs(m, local_defines, tags))
        )
    # No tags here: a test_suite's tags would filter its tests.
    native.test_suite(
        name = name,
        tests = [":%s_%s" % (name, m) for m in mallocs],
    )

def per_malloc_driver(name, binary, mallocs = PROCESS_MALLOCS, **kwargs):
    """sh_binary `name` that runs `<binary>_<m>` for each m, one after the other, with the same
    arguments (experiments/common/per_malloc.sh: --mallocs picks some, --out=DIR becomes
    DIR/<m>). `binary` is a cc_binary_per_malloc of this package."""
    native.sh_binary(
        name = name,
        srcs = ["//experiments/common:per_malloc.sh"],
        args = [binary] + ["%s=$(location :%s_%s)" % (m, binary, m) for m in mallocs] + ["--"],
        data = [":%s_%s" % (binary, m) for m in mallocs],
        # Its non-glibc binaries are (their identity check fails when a sanitizer owns malloc).
        tags = kwargs.pop("tags", []) + ["no_sanitizer"],
        **kwargs
    )
