//===- output_writer.cpp - All-or-nothing writing of output files --------===//

#include "output_writer.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

namespace kiln::run {

std::string sanitizeFileName(const std::string &name) {
  std::string result = name;
  for (char &c : result) {
    bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
    if (!safe)
      c = '_';
  }
  // No hidden files, and never "." or "..".
  if (result.empty() || result[0] == '.')
    result.insert(result.begin(), '_');
  return result;
}

OutputWriter::~OutputWriter() {
  if (!committed_)
    rollback();
}

std::string OutputWriter::open(const std::string &dir) {
  dir_ = dir;
  // mkdir -p, remembering each level created so rollback can undo it.
  for (size_t slash = 0; slash != std::string::npos;) {
    slash = dir.find('/', slash + 1);
    std::string prefix = dir.substr(0, slash);
    struct stat info;
    if (stat(prefix.c_str(), &info) == 0) {
      if (!S_ISDIR(info.st_mode))
        return "output directory '" + dir + "': '" + prefix +
               "' exists and is not a directory";
      continue;
    }
    if (mkdir(prefix.c_str(), 0777) != 0)
      return "cannot create output directory '" + prefix +
             "': " + std::strerror(errno);
    createdDirs_.push_back(prefix);
  }
  return "";
}

std::string OutputWriter::add(const std::string &outputName, kiln_dtype dtype,
                              const std::vector<int64_t> &dims,
                              const void *data, size_t bytes,
                              std::string *fileName, const std::string &subdir,
                              const std::string &fileBase) {
  std::string base = sanitizeFileName(fileBase.empty() ? outputName : fileBase);
  std::string name = base;
  std::string prefix = subdir.empty() ? "" : subdir + "/";
  for (int suffix = 2; usedNames_.count(prefix + name); ++suffix)
    name = base + "_" + std::to_string(suffix);
  usedNames_.insert(prefix + name);
  // NumPy has no bfloat16, float8 or float4: those become ONNX TensorProtos.
  bool asNpy = npyCanHold(dtype);
  name = prefix + name + (asNpy ? ".npy" : ".pb");
  std::string final = dir_ + "/" + name;

  // The .npy header comes first and the data is written from where it is;
  // a .pb (small low-precision outputs) is encoded in memory.
  std::vector<uint8_t> header;
  std::string error =
      asNpy ? encodeNpyHeader(dtype, dims, bytes, header)
            : encodeOnnxTensor(outputName, dtype, dims, data, bytes, header);
  if (error.empty() && asNpy)
    error = checkSubByteValues(dtype, static_cast<const uint8_t *>(data),
                               bytes);
  if (!error.empty())
    return "output '" + outputName + "' cannot be saved as '" + final +
           "': " + error;
  const void *rest = asNpy ? data : nullptr;
  size_t restBytes = asNpy ? bytes : 0;

  // Hidden, per-process temporary names cannot clash with real outputs or
  // with another kiln-run writing into the same directory.
  std::string temporary = dir_ + "/.kiln-run-" + std::to_string(getpid()) +
                          "-" + std::to_string(pending_.size()) + ".tmp";
  FILE *file = std::fopen(temporary.c_str(), "wb");
  if (!file)
    return "cannot write '" + final + "': " + std::strerror(errno);
  pending_.push_back({temporary, final});
  bool ok = std::fwrite(header.data(), 1, header.size(), file) == header.size();
  ok &= restBytes == 0 || std::fwrite(rest, 1, restBytes, file) == restBytes;
  ok &= std::fclose(file) == 0;
  if (!ok)
    return "cannot write '" + final + "': " + std::strerror(errno);
  if (fileName)
    *fileName = name;
  return "";
}

std::string OutputWriter::openSubdirectory(const std::string &name,
                                           std::string &subdir) {
  std::string base = sanitizeFileName(name);
  subdir = base;
  for (int suffix = 2; usedNames_.count(subdir + "/"); ++suffix)
    subdir = base + "_" + std::to_string(suffix);
  usedNames_.insert(subdir + "/");
  std::string path = dir_ + "/" + subdir;
  struct stat info;
  if (stat(path.c_str(), &info) == 0) {
    // Elements of an earlier run left there would pass for this run's.
    DIR *listing = S_ISDIR(info.st_mode) ? opendir(path.c_str()) : nullptr;
    bool empty = listing != nullptr;
    while (listing && empty)
      if (struct dirent *entry = readdir(listing))
        empty = !std::strcmp(entry->d_name, ".") ||
                !std::strcmp(entry->d_name, "..");
      else
        break;
    if (listing)
      closedir(listing);
    if (!empty)
      return "output '" + name + "' is a sequence, written as the directory '" +
             path + "', which exists and is not an empty directory";
    return "";
  }
  if (mkdir(path.c_str(), 0777) != 0)
    return "cannot create '" + path + "': " + std::strerror(errno);
  createdDirs_.push_back(path);
  return "";
}

std::string OutputWriter::commit() {
  for (const Pending &file : pending_) {
    if (std::rename(file.temporary.c_str(), file.final.c_str()) != 0)
      return "cannot rename '" + file.temporary + "' to '" + file.final +
             "': " + std::strerror(errno);
    committedFiles_.push_back(file.final);
  }
  committed_ = true;
  return "";
}

void OutputWriter::rollback() {
  for (const Pending &file : pending_)
    std::remove(file.temporary.c_str());
  for (const std::string &file : committedFiles_)
    std::remove(file.c_str());
  for (auto dir = createdDirs_.rbegin(); dir != createdDirs_.rend(); ++dir)
    rmdir(dir->c_str());
  pending_.clear();
  committedFiles_.clear();
  createdDirs_.clear();
}

} // namespace kiln::run
