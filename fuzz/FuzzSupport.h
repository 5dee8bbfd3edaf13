#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QFile>
#include <QString>
#include <QTemporaryDir>

#include <cstdio>
#include <cstdlib>

namespace wstunnel::fuzz {

// A property the fuzzed code must keep: a violation is a finding, so it ends the run like a crash
// and libFuzzer saves the input.
inline void require(bool holds, const char *property)
{
    if (!holds) {
        std::fprintf(stderr, "property violated: %s\n", property);
        std::abort();
    }
}

// The readers of token and config files take a path: each input is written to the same file in a
// directory of its own that goes away with the process.
class InputFile
{
public:
    explicit InputFile(const QString &name)
        : m_path(m_directory.filePath(name))
    {
    }

    const QString &write(QByteArrayView bytes) const
    {
        std::FILE *file = std::fopen(QFile::encodeName(m_path).constData(), "wb");
        require(file != nullptr, "the fuzz input file can be written");
        if (!bytes.isEmpty())
            std::fwrite(bytes.data(), 1, size_t(bytes.size()), file);
        std::fclose(file);
        return m_path;
    }

private:
    QTemporaryDir m_directory;
    QString m_path;
};

inline QByteArrayView bytesOf(const uint8_t *data, size_t size)
{
    return QByteArrayView(reinterpret_cast<const char *>(data), qsizetype(size));
}

} // namespace wstunnel::fuzz
