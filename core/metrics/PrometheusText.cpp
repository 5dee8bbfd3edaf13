#include "PrometheusText.h"

namespace wstunnel {

void PrometheusText::family(const QString &name, const QString &type, const QString &help)
{
    m_family = name;
    QString escapedHelp = help;
    escapedHelp.replace(QLatin1Char('\\'), QLatin1String("\\\\"))
        .replace(QLatin1Char('\n'), QLatin1String("\\n"));
    m_text += QStringLiteral("# HELP %1 %2\n# TYPE %1 %3\n").arg(name, escapedHelp, type).toUtf8();
}

void PrometheusText::sample(quint64 value, const Labels &labels)
{
    QString line = m_family;
    if (!labels.isEmpty()) {
        QStringList pairs;
        for (const auto &[name, value] : labels)
            pairs.append(QStringLiteral("%1=\"%2\"").arg(name, escapeLabelValue(value)));
        line += QLatin1Char('{') + pairs.join(QLatin1Char(',')) + QLatin1Char('}');
    }
    m_text += QStringLiteral("%1 %2\n").arg(line).arg(value).toUtf8();
}

QString PrometheusText::escapeLabelValue(const QString &value)
{
    QString escaped = value;
    escaped.replace(QLatin1Char('\\'), QLatin1String("\\\\"))
        .replace(QLatin1Char('"'), QLatin1String("\\\""))
        .replace(QLatin1Char('\n'), QLatin1String("\\n"));
    return escaped;
}

} // namespace wstunnel
