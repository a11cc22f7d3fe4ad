//===- artifact.h - Validate an artifact's header and sections --*- C++ -*-===//
//
// First stage of loading: everything that can be checked without
// interpreting section contents (magic, version, size, checksum, section
// table). After it succeeds every SectionRef lies inside the file.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_LIB_ARTIFACT_H
#define KILN_RUNTIME_LIB_ARTIFACT_H

#include "kiln/runtime.h"

#include <cstdint>

namespace kiln::rt {

struct SectionRef {
  bool present = false;
  uint64_t offset = 0; // from the start of the file
  uint64_t size = 0;
};

struct ArtifactLayout {
  /// From the header; between KILN_ARTIFACT_MIN_FORMAT_VERSION and
  /// KILN_ARTIFACT_FORMAT_VERSION. Decides how METADATA ends.
  uint32_t formatVersion = 0;
  SectionRef metadata;
  SectionRef hostCode;
  SectionRef weights;
  SectionRef gpuCode;
  SectionRef generation;
  SectionRef ranks;
  SectionRef kernels;
  SectionRef values;
  SectionRef launches;
  SectionRef kernelDetails;
  SectionRef memoryPlan;
  SectionRef dumps;

  /// The slot of section kind `kind` (KILN_SECTION_*), or null for a kind
  /// this runtime does not know.
  SectionRef *section(uint32_t kind);
  const SectionRef *section(uint32_t kind) const {
    return const_cast<ArtifactLayout *>(this)->section(kind);
  }
};

/// Checks the file image `data[0, size)` and finds its sections. Unknown
/// section kinds are skipped (a newer writer may add optional sections
/// without a version bump); each known kind may appear at most once, and
/// METADATA is required.
kiln_status validateArtifact(const uint8_t *data, uint64_t size,
                             ArtifactLayout &out);

} // namespace kiln::rt

#endif // KILN_RUNTIME_LIB_ARTIFACT_H
