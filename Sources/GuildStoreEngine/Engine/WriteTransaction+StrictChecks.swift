extension WriteTransaction {
    /// Invariant (DISK-11), the strict mode (`EngineConfiguration.verifiesPagesOnCommit`, on
    /// in debug builds and so in every test run): before a commit seals its pages, every B+tree
    /// node it wrote is read back as a reader would read it (`Node.init`: header and slots
    /// inside the page, BT-8) and its keys are checked strictly increasing (BT-1). A node that
    /// fails is `.corruptPage` and the commit appends nothing: an edit that went wrong (or a
    /// page from disk the edit built on, DISK-9) never reaches the log.
    func verifyWrittenNodes(_ pages: [(page: UInt32, image: PageBuffer)]) throws {
        for (number, image) in pages {
            let type = image.pointer.load(fromByteOffset: 4, as: UInt8.self)
            guard type == PageType.leaf.rawValue || type == PageType.interior.rawValue else { continue }
            let node = try Node(PageRef(base: UnsafeRawPointer(image.pointer), owner: image), number: number, pageSize: pageSize)
            var previous: [UInt8]?
            for i in 0..<node.count {
                try node.withKey(i) { key in
                    if let previous, previous.withUnsafeBytes({ compareKeys($0, key) }) >= 0 {
                        throw GuildStoreError.corruptPage(page: number, reason: "strict mode: the commit wrote keys out of order at slot \(i)")
                    }
                    previous = Array(key)
                }
            }
        }
    }
}
