/// The report as the terminal shows it: one line per workload with each contender's median
/// and the ratios, then the geometric means, the bytes per event, the machine and the command.
package enum ReportTextTable {
    package static func render(_ report: BenchReport) -> String {
        let others = report.others
        var header = ["workload", "rows", "\(report.name(of: report.measured)) ms"]
        for other in others { header += ["\(ReportFormatting.shortName(other)) ms", "ratio"] }
        var rows = [header]
        for workload in report.workloads {
            var row = [workload.name, String(workload.rows), workload.timing(report.measured).map { ReportFormatting.milliseconds($0.median) } ?? "-"]
            for other in others {
                row.append(workload.timing(other.key).map { ReportFormatting.milliseconds($0.median) } ?? "-")
                row.append(workload.ratio(against: other.key).map(ReportFormatting.ratio) ?? "-")
            }
            rows.append(row)
        }
        let rightAligned = Set(1..<header.count)
        let once = report.fewerRuns.isEmpty ? "" : " (\(report.fewerRuns))"
        let intro = "Medians of \(report.runsPerWorkload) runs per workload\(once), answers checked equal first. "
            + "ratio = SQLite's median / \(report.name(of: report.measured))'s (above 1: \(report.name(of: report.measured)) is faster)."
        return ([intro, "", ReportFormatting.table(rows, rightAligned: rightAligned), ""] + report.summaryLines).joined(separator: "\n")
    }
}
