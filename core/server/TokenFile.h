#pragma once

#include <QByteArray>
#include <QList>
#include <QString>

#include <optional>

namespace wstunnel {

// The lines of a token file that hold something: blank lines and lines starting with '#' are
// skipped, the rest trimmed. Every reader of token files (the remote's, the hub's, the client's)
// goes through it, so all report an unreadable or empty file alike.
struct TokenFileLine
{
    int number = 0; // 1-based, for messages that name the line rather than the token
    QByteArray text;
};

// nullopt with error set when the file cannot be read or holds no line.
std::optional<QList<TokenFileLine>> readTokenFile(const QString &path, QString *error);

} // namespace wstunnel
