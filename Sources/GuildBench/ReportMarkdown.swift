/// The report as a Markdown file (`--markdown PATH`): the table with medians and p90s, then
/// the geometric means, bytes per event, machine and command, ready to paste into a README.
package enum ReportMarkdown {
    package static func render(_ report: BenchReport) -> String {
        let others = report.others
        let measuredName = report.name(of: report.measured)
        var header = ["workload", "rows", "\(measuredName) ms (p90)"]
        for other in others { header += ["\(ReportFormatting.shortName(other)) ms (p90)", "ratio"] }
        var lines = ["| " + header.joined(separator: " | ") + " |",
                     "|" + header.indices.map { $0 == 0 ? " --- |" : " ---: |" }.joined()]
        func cell(_ timing: TimingStatistics?) -> String {
            guard let timing else { return "-" }
            return "\(ReportFormatting.milliseconds(timing.median)) (\(ReportFormatting.milliseconds(timing.p90)))"
        }
        for workload in report.workloads {
            var row = [escape(workload.name), String(workload.rows), cell(workload.timing(report.measured))]
            for other in others {
                row.append(cell(workload.timing(other.key)))
                let ratio = workload.ratio(against: other.key)
                // Below 1x in bold: where the goal is missed should not hide.
                row.append(ratio.map { $0 < 1 ? "**\(ReportFormatting.ratio($0))**" : ReportFormatting.ratio($0) } ?? "-")
            }
            lines.append("| " + row.joined(separator: " | ") + " |")
        }
        let once = report.fewerRuns.isEmpty ? "" : " (\(report.fewerRuns))"
        let intro = "Medians (p90) of \(report.runsPerWorkload) runs per workload, in milliseconds\(once). "
            + "Every answer was checked equal across the contenders before timing. "
            + "ratio = SQLite's median ÷ \(measuredName)'s: above 1, \(measuredName) is faster."
        return ([intro, ""] + lines + [""] + report.summaryLines.map { "- " + escape($0) }).joined(separator: "\n") + "\n"
    }

    /// `|` would end a table cell.
    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "|", with: "\\|")
    }
}
