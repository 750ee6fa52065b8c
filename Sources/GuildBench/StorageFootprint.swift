import Foundation

/// One contender's bytes on disk for the same data: the database file plus its write-ahead
/// log, divided by the events of the four event tables (the file holds the guilds, users,
/// members and reminders too, on every side alike).
package struct StorageFootprint: Sendable, Hashable, Codable {
    package var contender: String
    package var fileBytes: Int64
    package var walBytes: Int64
    package var events: Int
    package var bytesPerEvent: Double

    /// Measures the files at `path` and `walPath` now.
    package init(contender: String, path: String, walPath: String, events: Int) {
        self.contender = contender
        fileBytes = Self.size(path)
        walBytes = Self.size(walPath)
        self.events = events
        bytesPerEvent = events > 0 ? Double(fileBytes + walBytes) / Double(events) : 0
    }

    /// The file's size, 0 when it does not exist.
    static func size(_ path: String) -> Int64 {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        return (attributes?[.size] as? NSNumber)?.int64Value ?? 0
    }
}
