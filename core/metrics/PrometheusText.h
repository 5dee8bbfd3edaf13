#pragma once

#include <QByteArray>
#include <QList>
#include <QPair>
#include <QString>

namespace wstunnel {

// Writes the Prometheus text exposition format (version 0.0.4): each metric family once, with
// its HELP and TYPE lines, then its samples. Label values are escaped as the format requires.
class PrometheusText
{
public:
    using Labels = QList<QPair<QString, QString>>;

    static constexpr const char *kContentType = "text/plain; version=0.0.4; charset=utf-8";

    // Starts a family; type is "counter" or "gauge".
    void family(const QString &name, const QString &type, const QString &help);
    // A sample of the family last started.
    void sample(quint64 value, const Labels &labels = {});

    QByteArray text() const { return m_text; }

    static QString escapeLabelValue(const QString &value);

private:
    QByteArray m_text;
    QString m_family;
};

} // namespace wstunnel
