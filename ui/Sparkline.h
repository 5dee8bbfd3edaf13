#pragma once

#include "TrafficHistory.h"

#include <QWidget>

namespace wstunnel {

// A small graph of the last minute of throughput: incoming and outgoing rate as two lines,
// scaled to the largest value shown.
class Sparkline : public QWidget
{
    Q_OBJECT

public:
    explicit Sparkline(QWidget *parent = nullptr);

    void setSamples(const QList<TrafficHistory::Sample> &samples, qint64 nowMs);
    void setCaption(const QString &caption);
    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

protected:
    void paintEvent(QPaintEvent *event) override;

private:
    QList<TrafficHistory::Sample> m_samples;
    qint64 m_nowMs = 0;
    QString m_caption;
};

} // namespace wstunnel
