//===- ModelReport.cpp - What Kiln makes of an ONNX model -----------------===//

#include "ModelReport.h"

#include "kiln/Init.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"

using namespace kiln::inspect;

namespace {

/// The ONNX node a diagnostic names (the importer puts it in a NameLoc).
std::string nodeOf(mlir::Location loc) {
  if (auto name = llvm::dyn_cast<mlir::NameLoc>(loc))
    return name.getName().str();
  return "";
}

/// "17", or "17, com.microsoft 1": the opsets the model imports.
std::string opsetsText(const kiln::OnnxModelSummary &onnx) {
  std::string text;
  for (const auto &[domain, version] : onnx.opsets)
    text += (text.empty() ? "" : ", ") +
            (domain.empty() ? "" : domain + " ") + std::to_string(version);
  return text.empty() ? "none" : text;
}

void findingsJson(llvm::json::OStream &j, llvm::StringRef key,
                  const std::vector<Finding> &findings) {
  j.attributeArray(key, [&] {
    for (const Finding &finding : findings)
      j.object([&] {
        j.attribute("node", finding.node);
        j.attribute("message", finding.message);
      });
  });
}

} // namespace

std::string kiln::inspect::inspectModel(const std::string &path,
                                        ModelReport &out) {
  out.path = path;
  kiln::registerAllPasses(); // the raising pipeline is parsed from text
  std::unique_ptr<mlir::MLIRContext> context = kiln::createContext();
  mlir::ScopedDiagnosticHandler collect(
      context.get(), [&](mlir::Diagnostic &d) {
        if (d.getSeverity() == mlir::DiagnosticSeverity::Error)
          out.problems.push_back({nodeOf(d.getLocation()), d.str()});
        else if (d.getSeverity() == mlir::DiagnosticSeverity::Warning)
          out.warnings.push_back({nodeOf(d.getLocation()), d.str()});
        return mlir::success(); // raising remarks are counted by checkModel
      });
  kiln::CompileOptions options;
  options.inputPath = path;
  (void)kiln::checkModel(*context, options, out.check);
  // The summary is filled as soon as the file parses: before that, the
  // problem is the file, not the model.
  if (out.check.onnx.opsets.empty() && !out.problems.empty())
    return out.problems.front().message;
  return "";
}

void kiln::inspect::printModelText(const ModelReport &report,
                                   llvm::raw_ostream &os) {
  const kiln::OnnxModelSummary &onnx = report.check.onnx;
  os << "model: " << report.path << "\n";
  os << "opset: " << opsetsText(onnx) << "\n";
  os << "nodes: " << onnx.nodes << "\n";
  for (const auto &[op, count] : onnx.nodesPerOp)
    os << llvm::formatv("  {0,-32} {1}\n", op, count);
  os << "inputs:" << (onnx.inputs.empty() ? " none" : "") << "\n";
  for (const auto &[name, type] : onnx.inputs)
    os << llvm::formatv("  {0,-24} {1}\n", name, type);
  os << "symbols:" << (onnx.symbols.empty() ? " none (static shapes)" : "")
     << "\n";
  for (const auto &[name, range] : onnx.symbols)
    os << llvm::formatv("  {0,-24} {1}..{2}\n", name, range.min, range.max);
  if (report.problems.empty())
    os << "would raise: " << kiln::describeRaised(report.check.raised) << "\n";
  else // raising runs on an imported model only
    os << "would raise: unknown until every node is supported\n";
  os << "unsupported:" << (report.problems.empty() ? " none" : "") << "\n";
  for (const Finding &problem : report.problems)
    os << "  " << problem.message << "\n";
  for (const Finding &warning : report.warnings)
    os << "  warning: " << warning.message << "\n";
}

void kiln::inspect::printModelJson(const ModelReport &report,
                                   llvm::raw_ostream &os) {
  const kiln::OnnxModelSummary &onnx = report.check.onnx;
  llvm::json::OStream j(os, 2);
  j.object([&] {
    j.attribute("kind", "onnx");
    j.attribute("path", report.path);
    j.attributeObject("opsets", [&] {
      for (const auto &[domain, version] : onnx.opsets)
        j.attribute(domain.empty() ? "ai.onnx" : domain, version);
    });
    j.attribute("nodes", int64_t(onnx.nodes));
    j.attributeObject("nodes_per_op", [&] {
      for (const auto &[op, count] : onnx.nodesPerOp)
        j.attribute(op, int64_t(count));
    });
    j.attributeArray("inputs", [&] {
      for (const auto &[name, type] : onnx.inputs)
        j.object([&] {
          j.attribute("name", name);
          j.attribute("type", type);
        });
    });
    j.attributeArray("symbols", [&] {
      for (const auto &[name, range] : onnx.symbols)
        j.object([&] {
          j.attribute("name", name);
          j.attribute("min", range.min);
          j.attribute("max", range.max);
        });
    });
    // null when raising could not run (some node is unsupported).
    if (report.problems.empty())
      j.attributeObject("would_raise", [&] {
        for (const auto &[pattern, count] : report.check.raised)
          j.attribute(pattern, int64_t(count));
      });
    else
      j.attribute("would_raise", nullptr);
    findingsJson(j, "unsupported", report.problems);
    findingsJson(j, "warnings", report.warnings);
  });
  os << "\n";
}
