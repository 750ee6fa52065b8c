import CLZ4

/// LZ4 frame format (`lz4frame.h`), the container snapshot backups use, so the stock `lz4`
/// tool can decompress them too.
package enum LZ4Frame {
    /// Compresses `input` into one LZ4 frame with content checksums.
    package static func compress(_ input: [UInt8]) throws -> [UInt8] {
        var preferences = LZ4F_preferences_t()
        preferences.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled
        preferences.frameInfo.contentSize = UInt64(input.count)
        let bound = LZ4F_compressFrameBound(input.count, &preferences)
        var output = [UInt8](repeating: 0, count: bound)
        let written = output.withUnsafeMutableBytes { out in
            input.withUnsafeBytes { inp in
                LZ4F_compressFrame(out.baseAddress, out.count, inp.baseAddress, inp.count, &preferences)
            }
        }
        if LZ4F_isError(written) != 0 {
            throw GuildStoreError.compression("LZ4F_compressFrame: \(errorName(written))")
        }
        output.removeSubrange(written...)
        return output
    }

    /// Decompresses a whole LZ4 frame; a damaged frame is an error, never a wrong result.
    package static func decompress(_ input: [UInt8]) throws -> [UInt8] {
        var context: OpaquePointer?
        let created = LZ4F_createDecompressionContext(&context, UInt32(LZ4F_VERSION))
        guard LZ4F_isError(created) == 0, let context else {
            throw GuildStoreError.compression("LZ4F_createDecompressionContext")
        }
        defer { LZ4F_freeDecompressionContext(context) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var consumed = 0
        var finished = false
        try input.withUnsafeBytes { inp in
            while !finished {
                var sourceSize = inp.count - consumed
                var destinationSize = chunk.count
                let hint = chunk.withUnsafeMutableBytes { out in
                    LZ4F_decompress(context, out.baseAddress, &destinationSize, inp.baseAddress.map { $0 + consumed }, &sourceSize, nil)
                }
                if LZ4F_isError(hint) != 0 {
                    throw GuildStoreError.compression("LZ4F_decompress: \(errorName(hint))")
                }
                consumed += sourceSize
                output.append(contentsOf: chunk[..<destinationSize])
                if hint == 0 { finished = true } else if sourceSize == 0 && destinationSize == 0 {
                    throw GuildStoreError.compression("LZ4F_decompress: truncated frame")
                }
            }
        }
        return output
    }

    /// LZ4F's name for an error code.
    static func errorName(_ code: Int) -> String { String(cString: LZ4F_getErrorName(code)) }
}
