import Foundation

/// Number and text formatting shared by the text, Markdown and SVG renderers.
enum ReportFormatting {
    /// Milliseconds with about four significant digits: `0.0172`, `8.712`, `65.31`, `334.2`.
    static func milliseconds(_ value: Double) -> String {
        switch value {
        case ..<1: String(format: "%.4f", value)
        case ..<10: String(format: "%.3f", value)
        case ..<100: String(format: "%.2f", value)
        default: String(format: "%.1f", value)
        }
    }

    /// A ratio: `0.54x`, `12.3x`.
    static func ratio(_ value: Double) -> String {
        value >= 10 ? String(format: "%.1fx", value) : String(format: "%.2fx", value)
    }

    /// The ratio's short name for a contender's column (`SQLite (seed indexes)` → `seed`).
    static func shortName(_ description: ContenderDescription) -> String {
        switch description.key {
        case BenchContenders.seedKey: "SQLite"
        case BenchContenders.coveringKey: "SQLite covering"
        default: description.name
        }
    }

    /// Lines of cells, each column padded to its widest cell (by Characters, so `·` and
    /// emoji count once); `rightAligned` columns are padded on the left.
    static func table(_ rows: [[String]], rightAligned: Set<Int>) -> String {
        guard let first = rows.first else { return "" }
        var widths = [Int](repeating: 0, count: first.count)
        for row in rows { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
        return rows.map { row in
            row.enumerated().map { i, cell in
                let padding = String(repeating: " ", count: max(0, widths[i] - cell.count))
                return rightAligned.contains(i) ? padding + cell : cell + padding
            }.joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }.joined(separator: "\n")
    }

    /// Bytes per event, one decimal.
    static func bytes(_ value: Double) -> String {
        String(format: "%.1f", value)
    }

    /// A size in MB (10^6 bytes), one decimal: `23.4 MB`.
    static func megabytes(_ bytes: Int64) -> String {
        String(format: "%.1f MB", Double(bytes) / 1e6)
    }

    /// Operations per second with thousands separators: `113,749`.
    static func rate(_ value: Double) -> String {
        let digits = String(Int(value.rounded()))
        var grouped = ""
        for (index, digit) in digits.reversed().enumerated() {
            if index > 0, index % 3 == 0, digit != "-" { grouped.append(",") }
            grouped.append(digit)
        }
        return String(grouped.reversed())
    }
}

extension BenchReport {
    /// The workload groups timed fewer times than `runsPerWorkload`, with their count:
    /// `retention: 1, bulk-ingest: 5`; empty when there are none.
    var fewerRuns: String {
        var seen: [String] = []
        for workload in workloads where workload.runs < runsPerWorkload {
            let entry = "\(workload.group): \(workload.runs)"
            if !seen.contains(entry) { seen.append(entry) }
        }
        return seen.joined(separator: ", ")
    }

    /// The sentences under every rendering: geometric means, bytes per event, the machine,
    /// the command.
    var summaryLines: [String] {
        var lines: [String] = []
        for scope in ["query patterns", "all workloads"] {
            let means = geometricMeans.filter { $0.scope == scope }
            guard let count = means.first?.workloads else { continue }
            let what = scope == "query patterns" ? "the \(count) query-pattern workloads" : "all \(count) workloads"
            lines.append("Geometric mean over \(what): "
                         + means.map { "\(ReportFormatting.ratio($0.ratio)) against \(name(of: $0.against))" }.joined(separator: ", "))
        }
        for workload in workloads {
            guard let unit = workload.unit, let ours = workload.timings.first(where: { $0.contender == measured })?.perSecond else {
                continue
            }
            let others = workload.timings.filter { $0.contender != measured }.compactMap { timing in
                timing.perSecond.map { "\(name(of: timing.contender)) \(ReportFormatting.rate($0))" }
            }
            lines.append("\(workload.name): \(unit) per second at the median: \(name(of: measured)) \(ReportFormatting.rate(ours))"
                         + (others.isEmpty ? "" : ", " + others.joined(separator: ", ")) + ".")
        }
        for workload in workloads where !workload.notes.isEmpty {
            lines.append("\(workload.name): " + workload.notes.map { "\(name(of: $0.contender)): \($0.text)" }.joined(separator: "; ") + ".")
        }
        if let ours = footprint.first(where: { $0.contender == measured }), ours.bytesPerEvent > 0 {
            lines.append("Bytes per event on disk (file + WAL): \(name(of: measured)) \(ReportFormatting.bytes(ours.bytesPerEvent)), "
                         + footprint.filter { $0.contender != measured }.map {
                             "\(name(of: $0.contender)) \(ReportFormatting.bytes($0.bytesPerEvent)) "
                                 + "(\(ReportFormatting.ratio($0.bytesPerEvent / ours.bytesPerEvent)))"
                         }.joined(separator: ", "))
        }
        lines.append("Data: \(dataset.totalEvents) events in \(dataset.databasePath); "
                     + dataset.guilds.map { "\($0.label) guild \($0.id) (\($0.messages) messages)" }.joined(separator: ", ")
                     + "; ranges end at \(dataset.now).")
        lines.append("Machine: \(machine.summary).")
        let steps = phases.map { "\($0.name) \(String(format: "%.1f", $0.seconds)) s" }.joined(separator: ", ")
        lines.append("Command: \(command) (\(String(format: "%.0f", totalSeconds)) s in all\(steps.isEmpty ? "" : ": " + steps)).")
        return lines
    }
}
