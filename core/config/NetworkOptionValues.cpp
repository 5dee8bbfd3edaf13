#include "NetworkOptionValues.h"

#include <QRegularExpression>

namespace wstunnel {

std::optional<int> NetworkOptionValues::parseKeepAlive(const QString &text, QString *error)
{
    bool ok = false;
    const double seconds = text.trimmed().toDouble(&ok);
    if (!ok || seconds < 0.2 || seconds > 3600) {
        *error =
            QStringLiteral("--keepalive takes seconds between 0.2 and 3600, got '%1'").arg(text);
        return std::nullopt;
    }
    return qRound(seconds * 1000);
}

std::optional<int> NetworkOptionValues::parseUdpTimeout(const QString &text, QString *error)
{
    bool ok = false;
    const double seconds = text.trimmed().toDouble(&ok);
    if (!ok || seconds < 0.1 || seconds > 86400) {
        *error =
            QStringLiteral("--udp-timeout takes seconds between 0.1 and 86400, got '%1'").arg(text);
        return std::nullopt;
    }
    return qRound(seconds * 1000);
}

std::optional<int> NetworkOptionValues::parseResumeTimeout(const QString &text, QString *error)
{
    bool ok = false;
    const double seconds = text.trimmed().toDouble(&ok);
    if (!ok || seconds < 0 || seconds > 86400) {
        *error = QStringLiteral("--resume-timeout takes seconds between 0 and 86400, got '%1'")
                     .arg(text);
        return std::nullopt;
    }
    return qRound(seconds * 1000);
}

std::optional<qint64> NetworkOptionValues::parseWindowSize(const QString &option,
                                                           const QString &text, QString *error)
{
    bool ok = false;
    const double mebibytes = text.trimmed().toDouble(&ok);
    // 2 GiB keeps a window inside the protocol's u32 field.
    if (!ok || mebibytes < 0 || mebibytes > 2048) {
        *error = QStringLiteral("%1 takes MiB between 0 and 2048, got '%2'").arg(option, text);
        return std::nullopt;
    }
    return qint64(mebibytes * 1024 * 1024);
}

std::optional<QPair<QByteArray, QByteArray>> NetworkOptionValues::parseHeader(const QString &text,
                                                                              QString *error)
{
    static const QRegularExpression token(QStringLiteral("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"));
    const qsizetype colon = text.indexOf(QLatin1Char(':'));
    const QString name = text.left(colon).trimmed();
    const QString value = text.mid(colon + 1).trimmed();
    if (colon <= 0 || !token.match(name).hasMatch() || value.contains(QLatin1Char('\r')) ||
        value.contains(QLatin1Char('\n'))) {
        *error = QStringLiteral("--header '%1' is not 'Name: value'").arg(text);
        return std::nullopt;
    }
    static const QStringList reserved = {
        QStringLiteral("host"),
        QStringLiteral("upgrade"),
        QStringLiteral("connection"),
        QStringLiteral("authorization"),
        QStringLiteral("origin"),
        QStringLiteral("content-length"),
        QStringLiteral("transfer-encoding"),
    };
    const QString lower = name.toLower();
    if (reserved.contains(lower) || lower.startsWith(QLatin1String("sec-websocket-"))) {
        *error = QStringLiteral("--header cannot set %1: the tunnel sets it itself").arg(name);
        return std::nullopt;
    }
    return qMakePair(name.toLatin1(), value.toUtf8());
}

} // namespace wstunnel
