//===- model_load_test.h - A fixture for tests of kiln_model_load -*- C++ -*-===//
//
// The tests that feed the loader broken artifacts share how they expect a
// failure: a status, no model, and a message naming what is wrong.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TEST_RUNTIME_MODEL_LOAD_TEST_H
#define KILN_TEST_RUNTIME_MODEL_LOAD_TEST_H

#include "test_support.h"

#include <gtest/gtest.h>

#include <string>

namespace kiln::test {

class ModelLoadTest : public ::testing::Test {
protected:
  void TearDown() override { kiln_model_release(model); }

  /// Loads `artifact`, expecting failure with `status` and a message that
  /// contains `fragment`.
  void expectFailure(const Bytes &artifact, kiln_status status,
                     const std::string &fragment) {
    EXPECT_EQ(loadBytes(artifact, &model), status)
        << kiln_status_string(status) << ": " << kiln_last_error();
    EXPECT_EQ(model, nullptr);
    EXPECT_NE(std::string(kiln_last_error()).find(fragment), std::string::npos)
        << "message: " << kiln_last_error();
  }

  kiln_model *model = nullptr;
};

} // namespace kiln::test

#endif // KILN_TEST_RUNTIME_MODEL_LOAD_TEST_H
