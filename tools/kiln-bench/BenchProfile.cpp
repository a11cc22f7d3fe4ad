//===- BenchProfile.cpp - kiln-bench --profile and --trace ----------------===//

#include "BenchProfile.h"

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <iomanip>
#include <map>
#include <regex>
#include <sstream>

namespace kiln::bench {
namespace {

bool containsAny(const std::string &text, std::initializer_list<const char *> words) {
  std::string lower = text;
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  return std::any_of(words.begin(), words.end(), [&](const char *word) {
    return lower.find(word) != std::string::npos;
  });
}

/// The first category whose op kinds or node-name words the kernel has:
/// a norm with the residual add fused into it is a norm, the attention's
/// projections (their nodes lie under "self_attn") are attention, an MoE
/// gate's product is routing.
std::string categoryOf(const KernelDesc &k) {
  struct Rule {
    const char *category;
    std::initializer_list<const char *> kinds, words;
  };
  static const Rule rules[] = {
      {"attention",
       {"kiln.attention", "kiln.rope", "kiln.kv_cache_update",
        "kiln.paged_kv"},
       {"attn", "attention"}},
      {"moe routing",
       {"kiln.moe_route"},
       {"router", "routing", "moe/gate", "moe.gate"}},
      {"experts", {"kiln.moe_experts"}, {"expert"}},
      {"norms", {"kiln.rms_norm", "kiln.layer_norm"}, {"norm"}},
      {"matmuls",
       {"kiln.matmul", "kiln.linear", "kiln.qlinear", "kiln.conv"},
       {"matmul", "gemm", "proj"}},
  };
  for (const Rule &rule : rules) {
    for (const std::string &kind : k.kinds)
      if (containsAny(kind, rule.kinds))
        return rule.category;
    for (const std::string &node : k.nodes)
      if (containsAny(node, rule.words))
        return rule.category;
  }
  return "other";
}

/// The layer most of the nodes name (the later one on a tie: a norm that
/// recomputes the residual names every earlier layer's adds once).
int layerOf(const std::vector<std::string> &nodes) {
  static const std::regex layer(R"((?:^|[^a-z])(?:layers?|blocks?|h)[._/]?(\d+))",
                                std::regex::icase);
  std::map<int, int> counts;
  for (const std::string &node : nodes) {
    std::smatch m;
    if (std::regex_search(node, m, layer))
      ++counts[std::atoi(m[1].str().c_str())];
  }
  int best = -1, most = 0;
  for (auto [index, count] : counts)
    if (count >= most) {
      best = index;
      most = count;
    }
  return best;
}

/// "a, b, c, ... (12 in all)".
std::string nodeList(const std::vector<std::string> &nodes, size_t limit) {
  if (nodes.empty())
    return "-";
  std::string text;
  for (size_t i = 0; i < nodes.size() && i < limit; ++i)
    text += (i ? ", " : "") + nodes[i];
  if (nodes.size() > limit)
    text += ", ... (" + std::to_string(nodes.size()) + " in all)";
  return text;
}

/// Time and calls summed over the profiled runs.
struct Totals {
  double ns = 0;
  uint64_t calls = 0;
};

void printShares(const char *title, const std::map<std::string, Totals> &rows,
                 double runNs, unsigned runs) {
  std::vector<std::pair<std::string, Totals>> sorted(rows.begin(), rows.end());
  std::stable_sort(sorted.begin(), sorted.end(), [](auto &a, auto &b) {
    return a.second.ns > b.second.ns;
  });
  std::printf("%s:\n", title);
  for (auto &[name, t] : sorted)
    std::printf("  %-14s %9.4f ms  %5.1f%%  %4llu kernels a run\n", name.c_str(),
                t.ns / runs / 1e6, 100 * t.ns / runNs,
                (unsigned long long)(t.calls / runs));
}

std::string jsonString(const std::string &text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\')
      out += '\\';
    if (uint8_t(c) < 0x20) {
      char escape[8];
      std::snprintf(escape, sizeof(escape), "\\u%04x", c);
      out += escape;
      continue;
    }
    out += c;
  }
  return out + "\"";
}

std::string jsonList(const std::vector<std::string> &items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i)
    out += (i ? ", " : "") + jsonString(items[i]);
  return out + "]";
}

} // namespace

std::vector<KernelDesc> describeKernels(const kiln_model *model) {
  std::vector<KernelDesc> kernels(kiln_model_num_kernels(model));
  for (size_t i = 0; i < kernels.size(); ++i) {
    kiln_kernel_info info;
    if (kiln_model_kernel(model, i, &info) != KILN_STATUS_OK)
      continue;
    KernelDesc &k = kernels[i];
    k.name = info.name;
    k.kinds.assign(info.kinds, info.kinds + info.num_kinds);
    k.nodes.assign(info.nodes, info.nodes + info.num_nodes);
    k.category = categoryOf(k);
    k.layer = layerOf(k.nodes);
  }
  return kernels;
}

namespace {

/// The events summed: whole runs, and each kernel of the table.
struct ProfileTotals {
  std::vector<Totals> perKernel;
  double runNs = 0, kernelNs = 0;
  unsigned runs = 0;
  /// Time and calls by category and by layer ("layer N", "(no layer)").
  std::map<std::string, Totals> byCategory, byLayer;
};

ProfileTotals totalsOf(const std::vector<KernelDesc> &kernels,
                       const std::vector<kiln_profile_event> &events) {
  ProfileTotals t;
  t.perKernel.resize(kernels.size());
  for (const kiln_profile_event &e : events) {
    double ns = double(e.end_ns - e.start_ns);
    if (e.kernel == KILN_PROFILE_RUN) {
      t.runNs += ns;
      ++t.runs;
    } else if (e.kernel < kernels.size()) {
      t.perKernel[e.kernel].ns += ns;
      ++t.perKernel[e.kernel].calls;
      t.kernelNs += ns;
    }
  }
  for (size_t i = 0; i < kernels.size(); ++i) {
    std::string layer = kernels[i].layer < 0
                            ? std::string("(no layer)")
                            : "layer " + std::to_string(kernels[i].layer);
    for (Totals *row :
         {&t.byCategory[kernels[i].category], &t.byLayer[layer]}) {
      row->ns += t.perKernel[i].ns;
      row->calls += t.perKernel[i].calls;
    }
  }
  return t;
}

/// A JSON number with six significant digits, as printf's %.6g.
std::string number(double value) {
  std::ostringstream out;
  out << std::setprecision(6) << value;
  return out.str();
}

/// `rows` as a JSON object: name -> {"ms_per_run", "share",
/// "kernels_per_run"}.
std::string sharesJson(const std::map<std::string, Totals> &rows,
                       const ProfileTotals &t) {
  std::string out = "{";
  for (auto &[name, row] : rows)
    out += (out.size() > 1 ? ", " : "") + jsonString(name) +
           ": {\"ms_per_run\": " + number(row.ns / t.runs / 1e6) +
           ", \"share\": " + number(row.ns / t.runNs) +
           ", \"kernels_per_run\": " + std::to_string(row.calls / t.runs) + "}";
  return out + "}";
}

} // namespace

void printProfile(const std::vector<KernelDesc> &kernels,
                  const std::vector<kiln_profile_event> &events,
                  uint64_t dropped, size_t rows) {
  ProfileTotals totals = totalsOf(kernels, events);
  const std::vector<Totals> &perKernel = totals.perKernel;
  double runNs = totals.runNs, kernelNs = totals.kernelNs;
  unsigned runs = totals.runs;
  if (runs == 0 || runNs <= 0) {
    std::printf("profile: no run was recorded\n");
    return;
  }
  std::printf("profile: %u runs, %.4f ms a run, %zu kernels%s\n", runs,
              runNs / runs / 1e6, kernels.size(),
              kernels.empty() ? " (the artifact has no kernel table: "
                                "recompile it)"
                              : "");
  if (dropped)
    std::printf("note: %llu events did not fit and were dropped\n",
                (unsigned long long)dropped);
  std::vector<size_t> order(kernels.size());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return perKernel[a].ns > perKernel[b].ns;
  });
  std::printf("  %-4s %-28s %10s %7s %6s  %s\n", "id", "kernel", "ms/run",
              "share", "calls", "ONNX nodes");
  // The kernels that take the time; the rest in one line (--trace has all).
  double restNs = 0;
  size_t rest = 0;
  for (size_t row = 0; row < order.size(); ++row) {
    size_t i = order[row];
    if (perKernel[i].calls == 0)
      continue;
    if (rows && row >= rows) {
      restNs += perKernel[i].ns;
      ++rest;
      continue;
    }
    std::printf("  %-4zu %-28s %10.4f %6.1f%% %6llu  %s\n", i,
                kernels[i].name.substr(0, 28).c_str(),
                perKernel[i].ns / runs / 1e6, 100 * perKernel[i].ns / runNs,
                (unsigned long long)(perKernel[i].calls / runs),
                nodeList(kernels[i].nodes, 3).c_str());
  }
  if (rest)
    std::printf("  %-4s %-28s %10.4f %6.1f%%\n", "-",
                ("(" + std::to_string(rest) + " more kernels)").c_str(),
                restNs / runs / 1e6, 100 * restNs / runNs);
  std::printf("  %-4s %-28s %10.4f %6.1f%%\n", "-", "(outside kernels)",
              (runNs - kernelNs) / runs / 1e6, 100 * (runNs - kernelNs) / runNs);
  printShares("by category", totals.byCategory, runNs, runs);
  printShares("by layer", totals.byLayer, runNs, runs);
}

std::string profileJson(const std::vector<KernelDesc> &kernels,
                        const std::vector<kiln_profile_event> &events,
                        uint64_t dropped) {
  ProfileTotals t = totalsOf(kernels, events);
  if (t.runs == 0 || t.runNs <= 0)
    return "{\"runs\": 0}";
  std::string out = "{\"runs\": " + std::to_string(t.runs) +
                    ", \"ms_per_run\": " + number(t.runNs / t.runs / 1e6) +
                    ", \"dropped_events\": " + std::to_string(dropped) +
                    ", \"outside_kernels_ms_per_run\": " +
                    number((t.runNs - t.kernelNs) / t.runs / 1e6) +
                    ", \"kernels\": [";
  bool first = true;
  for (size_t i = 0; i < kernels.size(); ++i) {
    const Totals &k = t.perKernel[i];
    if (k.calls == 0)
      continue;
    out += std::string(first ? "" : ", ") + "{\"id\": " + std::to_string(i) +
           ", \"name\": " + jsonString(kernels[i].name) +
           ", \"ms_per_run\": " + number(k.ns / t.runs / 1e6) +
           ", \"share\": " + number(k.ns / t.runNs) +
           ", \"calls_per_run\": " + std::to_string(k.calls / t.runs) +
           ", \"category\": " + jsonString(kernels[i].category) +
           ", \"nodes\": " + jsonList(kernels[i].nodes) + "}";
    first = false;
  }
  return out + "], \"by_category\": " + sharesJson(t.byCategory, t) +
         ", \"by_layer\": " + sharesJson(t.byLayer, t) + "}";
}

/// A trace holds the first runs only: each kernel event carries its
/// nodes, and a few thousand runs of a decoder would make a file of
/// hundreds of MB that a browser cannot open.
constexpr uint32_t kMaxTraceRuns = 100;

std::string writeTrace(const std::string &path,
                       const std::vector<KernelDesc> &kernels,
                       const std::vector<kiln_profile_event> &events) {
  FILE *out = std::fopen(path.c_str(), "w");
  if (!out)
    return "--trace: cannot write '" + path + "': " + std::strerror(errno);
  uint64_t origin = UINT64_MAX;
  for (const kiln_profile_event &e : events)
    origin = std::min(origin, e.start_ns);
  std::fprintf(out, "{\"displayTimeUnit\": \"ms\", \"traceEvents\": [\n"
                    "{\"name\": \"process_name\", \"ph\": \"M\", \"pid\": 1, "
                    "\"tid\": 1, \"args\": {\"name\": \"kiln-bench\"}}");
  for (const kiln_profile_event &e : events) {
    bool run = e.kernel == KILN_PROFILE_RUN;
    if ((!run && e.kernel >= kernels.size()) || e.run >= kMaxTraceRuns)
      continue;
    std::string name = run ? "run " + std::to_string(e.run)
                           : kernels[e.kernel].name;
    std::string args =
        run ? "{\"run\": " + std::to_string(e.run) + "}"
            : "{\"kernel\": " + std::to_string(e.kernel) +
                  ", \"run\": " + std::to_string(e.run) +
                  ", \"kinds\": " + jsonList(kernels[e.kernel].kinds) +
                  ", \"nodes\": " + jsonList(kernels[e.kernel].nodes) + "}";
    std::fprintf(out,
                 ",\n{\"name\": %s, \"cat\": %s, \"ph\": \"X\", \"ts\": %.3f, "
                 "\"dur\": %.3f, \"pid\": 1, \"tid\": 1, \"args\": %s}",
                 jsonString(name).c_str(),
                 jsonString(run ? "run" : kernels[e.kernel].category).c_str(),
                 double(e.start_ns - origin) / 1e3,
                 double(e.end_ns - e.start_ns) / 1e3, args.c_str());
  }
  std::fprintf(out, "\n]}\n");
  if (std::fclose(out) != 0)
    return "--trace: cannot write '" + path + "': " + std::strerror(errno);
  return "";
}

} // namespace kiln::bench
