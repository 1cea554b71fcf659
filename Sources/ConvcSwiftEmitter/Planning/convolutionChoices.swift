// The per-conv choices of the planning pass: which kernel a conv gets, its tiles, chunks and bands, its copies
// and the floats they take. Pure functions of shapes and the target's tiling.

import ConvcIR

extension Tiling {
    func convolutionKind(_ c: Convolution, output: Shape, nchwc: NCHWcSides = NCHWcSides()) -> ConvolutionKind {
        if c.groups > 1 && c.groups == c.inChannels && c.groups == c.filters { return .depthwise }
        // NCHWc tensors go through pixel groups, whose tiles hold a pixel's channels in a vector (the layout
        // planner checks that the conv fits them): written out a vector per pixel, they need little work per output.
        // Winograd's output transform writes NCHWc as well (eight filters of a pixel at a time).
        if nchwc.input || (nchwc.output && convolutionKind(c, output: output) != .winograd) { return .pixelGroups }
        let plane = output.height * output.width
        let unitKernel = c.kernel == Pair(1, 1) && c.stride == Pair(1, 1) && c.padding == .zero
        // A 1×1 conv has little work per output to hide the channel-vector transpose behind: it goes by pixels
        // unless those would leave a tenth of the lanes idle (a 14×14 map fills 196 of 224).
        if channelVectors && c.groups == 1 && c.filters % channelBlock == 0 && plane <= 56 * 56
            && (!unitKernel || plane * 10 < (plane + 31) / 32 * 32 * 9)
        {
            return .channelVectors
        }
        if pixelGroups && c.groups == 1 && c.filters % groupChannels == 0 && c.kernel == Pair(3, 3)
            && c.stride == Pair(1, 1) && c.dilation == Pair(1, 1) && c.inChannels >= 32
            && output.height >= 7 && output.width >= 7
        {
            return .winograd
        }
        if pixelGroups && c.groups == 1 && c.filters % groupChannels == 0 && plane >= groupPixels
            && c.inChannels * c.kernel.h * c.kernel.w >= (unitKernel ? 128 : 64)
        {
            return .pixelGroups
        }
        if unitKernel && c.groups == 1 { return .pointwise }
        if c.stride == Pair(1, 1) || (c.stride == Pair(2, 2) && c.dilation == Pair(1, 1)) { return .flat }
        return .blocked
    }

    /// The pixel-group tile of a conv: 2 vectors of channels × 6 pixels, or for a chunked 1×1 conv whose filters
    /// fill 32-channel blocks, 4 vectors × 3 pixels: three broadcasts for twelve multiply-adds instead of six
    /// (each broadcast from memory takes a vector pipe on Zen 3), with each weight vector loaded right before its
    /// three multiply-adds so that twelve accumulators, three broadcasts and one weight vector fill the sixteen
    /// registers (MobileNet's 512→512 1×1 convs at 14×14: 1.33 → 1.19 ms).
    func groupTile(_ c: Convolution, output: Shape, nchwc: NCHWcSides = NCHWcSides()) -> GroupTile {
        let narrow = groupTile
        let wide = GroupTile(vectors: 4, pixels: 3, lanes: lanes)
        if nchwc.any {
            let plane = output.height * output.width
            func computed(_ pixels: Int) -> Int { (plane + pixels - 1) / pixels * pixels }
            if computed(6) - computed(5) > plane / 20 { return GroupTile(vectors: 2, pixels: 5, lanes: lanes) }
        }
        // NCHWc 1×1 convs: 2 × 6 took 0.55–0.97 of the NCHW kernels' time, 4 × 3 1.0–1.6.
        guard lanes == 8, !nchwc.any, c.kernel == Pair(1, 1), c.filters % wide.channels == 0,
            groupChunk(c, output: output, channels: narrow.channels) != nil
        else { return narrow }
        return wide
    }

    /// Input channels per chunk of a pixel-group conv, or nil where it sums them all at once. Every group of
    /// pixels reads all of its block's weights: past 128 KB they stream from L2 or beyond, and on small maps the
    /// inputs every group reads would not stay in L1 either (measured at 7×7: 512→512 3×3 from 66 to 80 GFLOP/s,
    /// 1024→1024 1×1 from 56 to 78; at 28×28, 512→512 3×3 from 75 to 86). An NCHWc input is read a contiguous
    /// run per block of eight channels, and sums them all at once: MobileNet's 1×1 convs at 14×14 and 7×7 took
    /// 0.90–0.96 of the time they took in chunks of 64.
    func groupChunk(_ c: Convolution, output: Shape, channels: Int, nchwc: NCHWcSides = NCHWcSides()) -> Int? {
        if nchwc.input { return nil }
        let taps = c.kernel.h * c.kernel.w
        let chunk = taps == 1 ? 64 : 16
        let chunked = c.inChannels > chunk && c.inChannels % chunk == 0 && taps <= 9
            && (output.height * output.width <= 14 * 14 || c.inChannels * taps * channels * 4 > 128 * 1024)
        return chunked ? chunk : nil
    }

    /// Floats of a conv's stored weights: blocks of filters (zero-padded to whole blocks), or for Winograd sixteen
    /// transformed values per filter and input channel.
    func weightFloats(_ c: Convolution, kind: ConvolutionKind) -> Int {
        if kind == .winograd { return 16 * c.filters * c.inChannels }
        return paddedFilters(c) * (c.inChannels / c.groups) * c.kernel.h * c.kernel.w
    }

    /// Filters per group rounded up to whole blocks, times the groups.
    func paddedFilters(_ c: Convolution) -> Int {
        let perGroup = c.filters / c.groups
        return (perGroup + filterBlock - 1) / filterBlock * filterBlock * c.groups
    }
}

/// Of the 64 sets of a 32 KB, 8-way L1 cache, how many the same offset in planes `floats` apart falls in: planes
/// 4 KB apart all fall in one, so a loop over channels keeps only eight of them in L1.
func cacheSets(planeFloats floats: Int) -> Int {
    let bytes = floats * 4
    let powerOfTwo = bytes % 4096 == 0 ? 4096 : bytes & -bytes
    return 4096 / max(powerOfTwo, 64)
}

/// Rows of a plane of `columns` floats, from `rows` up, until planes fall in at least four cache sets.
func skewedRows(_ rows: Int, columns: Int) -> Int {
    var rows = rows
    while cacheSets(planeFloats: rows * columns) < 4 { rows += 1 }
    return rows
}

/// What a pixel-group conv reads: the input itself, or a copy. The copy is zero-padded; also made where the input's
/// planes would fall in fewer than four cache sets, with rows added as zeros until they do not (NiN's 192→160 1×1
/// conv at 32×32, planes 4 KB apart, went from 0.94 to 0.87 ms, copy included; at four sets, the 16×16 convs after
/// it, the copy cost more than it saved); and for a strided 1×1 conv, which then reads a compact copy of the pixels
/// it uses at stride 1 (`subsampled`).
func pixelGroupSource(_ c: Convolution, input: Shape, output: Shape) -> PixelGroupSource {
    if c.kernel == Pair(1, 1) && c.stride != Pair(1, 1) && c.padding == .zero {
        return PixelGroupSource(rows: skewedRows(output.height, columns: output.width), columns: output.width, copied: true, subsampled: true)
    }
    let rows = input.height + c.padding.top + c.padding.bottom
    let columns = input.width + c.padding.left + c.padding.right
    let skewed = skewedRows(rows, columns: columns)
    return PixelGroupSource(rows: skewed, columns: columns, copied: c.padding != .zero || skewed != rows, subsampled: false)
}

/// The zero-padded copy of the input a blocked or depthwise conv reads: (channels, rows, columns), wide enough
/// that the last sixteen-pixel chunk of every output row stays inside it.
func paddedInput(_ c: Convolution, input: Shape, output: Shape) -> (rows: Int, columns: Int) {
    paddedWindows(kernel: c.kernel, stride: c.stride, dilation: c.dilation, padding: c.padding, input: input, output: output)
}

/// The padded copy a window operation (conv or pool) reads in sixteen-pixel output chunks.
func paddedWindows(kernel: Pair, stride: Pair, dilation: Pair, padding: Padding, input: Shape, output: Shape) -> (rows: Int, columns: Int) {
    let chunks = (output.width + 15) / 16
    // Stride 2 reads two whole vectors (32 columns) per chunk and keeps the even lanes.
    let lastRead = stride.w == 2
        ? chunks * 32 + (kernel.w - 1) * dilation.w
        : (chunks * 16 - 1) * stride.w + (kernel.w - 1) * dilation.w + 1
    let rows = max(input.height + padding.top + padding.bottom, (output.height - 1) * stride.h + (kernel.h - 1) * dilation.h + 1)
    return (rows, max(input.width + padding.left + padding.right, lastRead))
}

/// A max pool without indices runs on sixteen-pixel vectors over rows bordered with −∞ (as far as a ceil-mode
/// window reaches); one that keeps indices for a max_unpool, and average pools, run pixel by pixel.
func isVectorPool(_ p: Pooling, indexed: Bool) -> Bool { p.kind == .max && !indexed }

/// The zero-padded planes a flat conv reads per input channel: one (stride 1), or four phase planes (stride 2) of
/// half the padded size, rounded up.
func flatInput(_ c: Convolution, input: Shape) -> (rows: Int, columns: Int, phases: Int) {
    let rows = input.height + c.padding.top + c.padding.bottom
    let columns = input.width + c.padding.left + c.padding.right
    return c.stride == Pair(2, 2) ? ((rows + 1) / 2, (columns + 1) / 2, 4) : (rows, columns, 1)
}

/// The shapes of a Winograd F(2×2, 3×3) conv: tiles, the zero-padded input, and the bands of tile rows whose
/// transformed inputs (16 × channels × tiles) and products (tiles × 16 × filters) go through scratch.
struct WinogradPlan: Hashable {
    /// Output tiles of 2×2 down and across.
    let tileRows: Int, tileColumns: Int
    /// Tiles across rounded up to whole vectors of eight: input transforms run on eight tiles at a time.
    let vectorColumns: Int
    /// The padded input: every tile's 4×4 window inside it, and eight tiles' windows read as two 16-float rows.
    let rows: Int, columns: Int
    /// Tile rows per band: the transformed inputs of one of the sixteen products, about 128 KB, stay in L2 while
    /// every block of filters reads them.
    let bandRows: Int
    /// Floats from one input channel's transformed tiles to the next's.
    let valueStride: Int
    let paddedFloats: Int, transformedFloats: Int, productFloats: Int

    /// `minimumBandTiles`: the tiles one register tile of the products takes, which every band must hold.
    init(_ c: Convolution, input: Shape, output: Shape, minimumBandTiles: Int) {
        tileRows = (output.height + 1) / 2
        tileColumns = (output.width + 1) / 2
        vectorColumns = (tileColumns + 7) / 8 * 8
        columns = 2 * vectorColumns + 2
        rows = skewedRows(2 * tileRows + 2, columns: columns)
        // Every band, the last one too, holds a pixel group's tiles: the products' last group shifts back to end
        // at the band's last tile, so a band of fewer tiles would read before its first (18×8 maps of 512
        // channels: bands of 8 tile rows left a last band of 4 tiles). Failing that, one band.
        let fewestRows = (minimumBandTiles + tileColumns - 1) / tileColumns
        let allRows = tileRows
        let leavesShortBand = { (band: Int) in (1..<fewestRows).contains(allRows % band) }
        var band = min(tileRows, max(fewestRows, 32_768 / (c.inChannels * vectorColumns)))
        while band > fewestRows, leavesShortBand(band) { band -= 1 }
        bandRows = leavesShortBand(band) ? tileRows : band
        // A value's tiles of one channel are `valueStride` floats from the next channel's, 16 more than the band's
        // where that many would put every channel in few cache sets (ResNet-18's 56×56: 16 rows of 32, 2 KB).
        valueStride = bandRows * vectorColumns + (cacheSets(planeFloats: bandRows * vectorColumns) < 16 ? 16 : 0)
        paddedFloats = c.inChannels * rows * columns
        transformedFloats = 16 * c.inChannels * valueStride
        productFloats = bandRows * tileColumns * 16 * c.filters
    }
}
