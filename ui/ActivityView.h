#pragma once

#include <QWidget>

class QLineEdit;
class QSortFilterProxyModel;
class QTableView;

namespace wstunnel {

class ActivityModel;

// The activity tab: the event log with a filter over all its columns and a copy of the selected
// rows as text, so that a failure can be read in full and pasted into a report.
class ActivityView : public QWidget
{
    Q_OBJECT

public:
    explicit ActivityView(ActivityModel *model, QWidget *parent = nullptr);

    // The selected rows, one line each in the order shown, columns separated by tabs.
    QString selectedText() const;
    void copySelection();

private:
    ActivityModel *m_model;
    QSortFilterProxyModel *m_filter;
    QLineEdit *m_filterEdit;
    QTableView *m_view;
};

} // namespace wstunnel
