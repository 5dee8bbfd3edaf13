#include "Sparkline.h"

#include "Formatting.h"

#include <QPainter>
#include <QPainterPath>

namespace wstunnel {

namespace {

const QColor kInColor(0x2f, 0x80, 0xd0);
const QColor kOutColor(0x3c, 0xa0, 0x4a);

} // namespace

Sparkline::Sparkline(QWidget *parent)
    : QWidget(parent)
{
    setAccessibleName(tr("Throughput of the last minute"));
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
}

void Sparkline::setSamples(const QList<TrafficHistory::Sample> &samples, qint64 nowMs)
{
    m_samples = samples;
    m_nowMs = nowMs;
    const double in = samples.isEmpty() ? 0 : samples.last().rateIn;
    const double out = samples.isEmpty() ? 0 : samples.last().rateOut;
    setAccessibleDescription(tr("In %1, out %2").arg(Formatting::rate(in), Formatting::rate(out)));
    update();
}

void Sparkline::setCaption(const QString &caption)
{
    m_caption = caption;
    update();
}

QSize Sparkline::sizeHint() const
{
    return QSize(400, 72);
}

QSize Sparkline::minimumSizeHint() const
{
    return QSize(120, 56);
}

void Sparkline::paintEvent(QPaintEvent *)
{
    QPainter painter(this);
    painter.setRenderHint(QPainter::Antialiasing);
    const QRectF frame = QRectF(rect()).adjusted(0.5, 0.5, -0.5, -0.5);
    painter.setPen(palette().color(QPalette::Mid));
    painter.setBrush(palette().color(QPalette::Base));
    painter.drawRect(frame);

    const int textHeight = fontMetrics().height();
    const QRectF plot = frame.adjusted(4, textHeight + 4, -4, -4);
    double peak = 1;
    for (const TrafficHistory::Sample &sample : std::as_const(m_samples))
        peak = qMax(peak, qMax(sample.rateIn, sample.rateOut));

    auto pathOf = [&](bool incoming) {
        QPainterPath path;
        bool first = true;
        for (const TrafficHistory::Sample &sample : std::as_const(m_samples)) {
            const double age = double(m_nowMs - sample.timeMs) / double(TrafficHistory::kWindowMs);
            const double value = incoming ? sample.rateIn : sample.rateOut;
            const QPointF point(plot.right() - age * plot.width(),
                                plot.bottom() - value / peak * plot.height());
            if (first)
                path.moveTo(point);
            else
                path.lineTo(point);
            first = false;
        }
        return path;
    };
    painter.setBrush(Qt::NoBrush);
    painter.setPen(QPen(kInColor, 1.5));
    painter.drawPath(pathOf(true));
    painter.setPen(QPen(kOutColor, 1.5));
    painter.drawPath(pathOf(false));

    const double in = m_samples.isEmpty() ? 0 : m_samples.last().rateIn;
    const double out = m_samples.isEmpty() ? 0 : m_samples.last().rateOut;
    const QRectF textRect = frame.adjusted(6, 2, -6, 0);
    painter.setPen(palette().color(QPalette::Text));
    painter.drawText(textRect, Qt::AlignLeft | Qt::AlignTop, m_caption);
    // Right-aligned legend, each rate in the colour of its line.
    const QList<QPair<QString, QColor>> parts = {
        {tr("peak %1").arg(Formatting::rate(peak > 1 ? peak : 0)), palette().color(QPalette::Text)},
        {tr("out %1").arg(Formatting::rate(out)), kOutColor},
        {tr("in %1").arg(Formatting::rate(in)), kInColor},
    };
    qreal right = textRect.right();
    for (const auto &[text, color] : parts) {
        painter.setPen(color);
        const qreal width = fontMetrics().horizontalAdvance(text);
        painter.drawText(QRectF(right - width, textRect.top(), width, textHeight),
                         Qt::AlignRight | Qt::AlignTop, text);
        right -= width + fontMetrics().horizontalAdvance(QStringLiteral("    "));
    }
}

} // namespace wstunnel
