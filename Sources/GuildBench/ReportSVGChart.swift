import Foundation

/// The report's ratios as a horizontal bar chart in SVG (`--svg PATH`), written by hand (no
/// dependencies): one row per workload, one bar per SQLite contender, on a log scale with a
/// line at 1x; a bar right of it means GuildStore is faster by that factor, left of it slower.
/// The last row is bytes per event (SQLite's ÷ GuildStore's: right of 1x, GuildStore is
/// smaller).
package enum ReportSVGChart {
    // Layout, in pixels.
    static let width = 1_000.0
    static let labelWidth = 330.0
    static let plotLeft = labelWidth + 10
    static let plotRight = width - 70
    static let top = 112.0
    static let rowHeight = 24.0
    static let barHeight = 8.0
    static let colors = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759"]

    package static func render(_ report: BenchReport) -> String {
        let others = report.others
        var rows: [(label: String, ratios: [Double?])] = report.workloads.map { workload in
            (workload.name, others.map { workload.ratio(against: $0.key) })
        }
        if let ours = report.footprint.first(where: { $0.contender == report.measured }), ours.bytesPerEvent > 0 {
            rows.append(("bytes per event on disk (size)", others.map { other in
                report.footprint.first { $0.contender == other.key }.map { $0.bytesPerEvent / ours.bytesPerEvent }
            }))
        }
        let ratios = rows.flatMap { $0.ratios.compactMap { $0 } }.filter { $0 > 0 && $0.isFinite }
        // Whole decades around every ratio, at least 0.1x ... 10x.
        let low = pow(10, floor(log10(min(0.1, ratios.min() ?? 1))))
        let high = pow(10, ceil(log10(max(10, ratios.max() ?? 1))))
        func x(_ ratio: Double) -> Double {
            plotLeft + (log10(ratio) - log10(low)) / (log10(high) - log10(low)) * (plotRight - plotLeft)
        }
        let bottom = top + Double(rows.count) * rowHeight
        let height = bottom + 28
        var svg: [String] = []
        svg.append(##"<svg xmlns="http://www.w3.org/2000/svg" width="\##(f(width))" height="\##(f(height))" viewBox="0 0 \##(f(width)) \##(f(height))" font-family="system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif" font-size="12">"##)
        svg.append(##"<rect width="100%" height="100%" fill="#ffffff"/>"##)
        let measured = escape(report.name(of: report.measured))
        svg.append(##"<text x="16" y="26" font-size="16" font-weight="bold" fill="#222">\##(measured) speed ÷ SQLite's, per workload (log scale; right of 1x: \##(measured) is faster)</text>"##)
        let means = report.geometricMeans.filter { $0.scope == "query patterns" }
            .map { "\(ReportFormatting.ratio($0.ratio)) against \(report.name(of: $0.against))" }.joined(separator: ", ")
        svg.append(##"<text x="16" y="46" fill="#444">Geometric mean over the query patterns: \##(escape(means)).</text>"##)
        svg.append(##"<text x="16" y="63" fill="#444">Medians of \##(report.runsPerWorkload) runs per workload; every answer was checked equal across the contenders before timing.</text>"##)
        svg.append(##"<text x="16" y="80" fill="#666" font-size="11">\##(escape(report.machine.summary))</text>"##)
        // Legend.
        var legendX = plotLeft
        for (index, other) in others.enumerated() {
            svg.append(##"<rect x="\##(f(legendX))" y="88" width="12" height="10" fill="\##(colors[index % colors.count])"/>"##)
            svg.append(##"<text x="\##(f(legendX + 16))" y="97" fill="#222">against \##(escape(other.name))</text>"##)
            legendX += 230
        }
        // Row stripes and labels.
        for (index, row) in rows.enumerated() {
            let y = top + Double(index) * rowHeight
            if index % 2 == 0 {
                svg.append(##"<rect x="0" y="\##(f(y))" width="\##(f(width))" height="\##(f(rowHeight))" fill="#f4f6f8"/>"##)
            }
            svg.append(##"<text x="\##(f(labelWidth))" y="\##(f(y + rowHeight / 2 + 4))" text-anchor="end" fill="#222">\##(escape(row.label))</text>"##)
        }
        // Decade grid lines, and 2x / 3x / 0.5x marks.
        var decade = low
        while decade <= high * 1.000_001 {
            let gx = x(decade)
            svg.append(##"<line x1="\##(f(gx))" y1="\##(f(top))" x2="\##(f(gx))" y2="\##(f(bottom))" stroke="#d0d4d8" stroke-width="1"/>"##)
            svg.append(##"<text x="\##(f(gx))" y="\##(f(bottom + 16))" text-anchor="middle" fill="#444">\##(axisLabel(decade))</text>"##)
            decade *= 10
        }
        for mark in [0.5, 2, 3] where mark > low && mark < high {
            let gx = x(mark)
            svg.append(##"<line x1="\##(f(gx))" y1="\##(f(top))" x2="\##(f(gx))" y2="\##(f(bottom))" stroke="#e3e6e9" stroke-dasharray="3,3"/>"##)
            svg.append(##"<text x="\##(f(gx))" y="\##(f(bottom + 16))" text-anchor="middle" fill="#888" font-size="10">\##(axisLabel(mark))</text>"##)
        }
        // Bars from 1x to each ratio, with the figure at the bar's end.
        let one = x(1)
        let barsHeight = Double(others.count) * barHeight + Double(max(0, others.count - 1)) * 2
        for (index, row) in rows.enumerated() {
            let rowTop = top + Double(index) * rowHeight + (rowHeight - barsHeight) / 2
            for (slot, ratio) in row.ratios.enumerated() {
                guard let ratio, ratio > 0, ratio.isFinite else { continue }
                let y = rowTop + Double(slot) * (barHeight + 2)
                let end = x(ratio)
                let left = min(one, end), barWidth = max(1, abs(end - one))
                svg.append(##"<rect x="\##(f(left))" y="\##(f(y))" width="\##(f(barWidth))" height="\##(f(barHeight))" fill="\##(colors[slot % colors.count])"><title>\##(escape(row.label)): \##(ReportFormatting.ratio(ratio)) against \##(escape(others[slot].name))</title></rect>"##)
                let textX = ratio >= 1 ? end + 4 : end - 4
                svg.append(##"<text x="\##(f(textX))" y="\##(f(y + barHeight - 0.5))" text-anchor="\##(ratio >= 1 ? "start" : "end")" font-size="10" fill="#333">\##(ReportFormatting.ratio(ratio))</text>"##)
            }
        }
        svg.append(##"<line x1="\##(f(one))" y1="\##(f(top - 4))" x2="\##(f(one))" y2="\##(f(bottom))" stroke="#222" stroke-width="1.5"/>"##)
        svg.append(##"<text x="\##(f(one))" y="\##(f(top - 6))" text-anchor="middle" font-weight="bold" fill="#222">1x</text>"##)
        svg.append("</svg>")
        return svg.joined(separator: "\n") + "\n"
    }

    /// A coordinate with at most one decimal.
    static func f(_ value: Double) -> String {
        String(format: "%.1f", value)
    }

    /// `0.01x`, `0.1x`, `1x`, `10x`, `100x`.
    static func axisLabel(_ value: Double) -> String {
        value >= 1 ? String(format: "%.0fx", value) : String(format: "%gx", value)
    }

    /// Text safe inside SVG elements and attributes.
    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
