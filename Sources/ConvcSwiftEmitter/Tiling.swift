// The target's register tiles and the kernels a conv can get.

import ConvcIR

/// The register file a convolution's output tile must fit: a tile with more accumulators than registers spills on
/// every multiply-add (measured on AVX2: eight filters × thirty-two pixels, 32 ymm registers' worth, ran at 34
/// GFLOP/s; four filters × twenty-four pixels, 12 registers, at 79).
public enum EmitTarget: String, CaseIterable, Sendable {
    /// Sixteen 256-bit vector registers: x86-64 with AVX2 and FMA. Also the tiles for Arm (NEON's thirty-two
    /// 128-bit registers hold as many floats).
    case avx2
    /// Thirty-two 512-bit vector registers: x86-64 with AVX-512.
    case avx512

    var tiling: Tiling {
        switch self {
        // 4 filters × 3 vectors of 8 pixels: 12 accumulators, 3 input vectors and a broadcast weight in 16.
        // Pixel groups: 2 vectors of 8 channels × 6 pixels, 12 accumulators, 2 weight vectors and a broadcast.
        case .avx2: Tiling(lanes: 8, filterBlock: 4, pixelChunks: 3, channelVectors: false, pixelGroups: true)
        // 8 filters × 2 vectors of 16 pixels: 16 accumulators; channel vectors (28 accumulators) on small maps.
        case .avx512: Tiling(lanes: 16, filterBlock: 8, pixelChunks: 2, channelVectors: true, pixelGroups: false)
        }
    }
}

/// The register tile of pixel-vector convolutions (a block of filters × vectors of pixels), and whether small maps
/// use channel vectors.
struct Tiling {
    /// Floats per vector in the tile.
    let lanes: Int
    /// Output channels a pixel-vector tile computes together; conv weights are stored in blocks of this many.
    let filterBlock: Int
    /// Vectors of pixels per filter in a pixel-vector tile.
    let pixelChunks: Int
    /// Whether small maps use channel vectors (32 output channels × up to 14 pixels: 28 accumulators).
    let channelVectors: Bool
    /// Whether convs with enough work per output use pixel groups (`groupVectors` vectors of output channels ×
    /// `groupPixels` output pixels anywhere in the map).
    let pixelGroups: Bool
    let groupVectors = 2
    let groupPixels = 6

    /// Pixels (flat positions) one pixel-vector tile computes.
    var pixelTile: Int { lanes * pixelChunks }
    /// The tile's vector type.
    var vector: String { "SIMD\(lanes)<Float>" }
    /// Output channels a pixel-group tile computes: its weights are stored in blocks of this many.
    var groupChannels: Int { groupVectors * lanes }
    /// The pixel-group tile of Winograd's products and of most pixel-group convs.
    var groupTile: GroupTile { GroupTile(vectors: groupVectors, pixels: groupPixels, lanes: lanes) }
}

/// A pixel-group register tile: `vectors` vectors of output channels × `pixels` output pixels.
struct GroupTile: Hashable {
    let vectors: Int
    let pixels: Int
    let lanes: Int
    var channels: Int { vectors * lanes }
}

/// How a conv is lowered.
enum ConvolutionKind {
    /// One filter per channel: per-channel rows of sixteen pixels.
    case depthwise
    /// One group, filters a multiple of 32, at most 56×56 output pixels (for 1×1 convs, only where pixel vectors
    /// would leave a tenth of their lanes idle), on targets with 32 registers: vectors of sixteen output channels,
    /// two of them × a row segment of up to fourteen pixels in registers, each input value broadcast; no lanes are
    /// wasted however narrow the map (a pixel-vectorised 7×7 map fills 49 of 64 lanes). Reads the input directly
    /// when there is no padding.
    case channelVectors
    /// One group, filters a multiple of the group's channels, at least 128 multiply-adds per output and a map of
    /// at least one group of pixels, on targets with 16 registers: vectors of output channels × a group of output
    /// pixels anywhere in the map (six consecutive ones, across row ends), each input value broadcast. No lane is
    /// idle whatever the map's width or the stride, and the weights of a tap come as vectors from one place; the
    /// tile is written out channel by channel, a cost the multiply-adds per output must cover.
    case pixelGroups
    /// 3×3, stride 1, undilated, one group, on maps of at least 14×14 with at least 32 input channels, on targets
    /// with pixel groups: Winograd's F(2×2, 3×3) (Lavin and Gray, arXiv:1509.09308). Each 4×4 input tile and each
    /// filter go to a 4×4 transformed domain where the conv is sixteen matrix products (channels in, channels
    /// out, tiles), 2.25 times fewer multiply-adds than the direct conv; each 2×2 output tile comes back from a
    /// 4×4 product tile. The products run as pixel groups over tiles.
    case winograd
    /// 1×1, stride 1, no padding, one group: the input planes are the matrix; no padded copy.
    case pointwise
    /// Other stride-1 convs, and undilated stride-2 ones: the input is copied into a zero-padded plane (for
    /// stride 2, four phase planes of even/odd rows × columns, which make the conv a stride-1 one over them) and
    /// the output computed over the plane's flat positions (rows `padded width` apart), so pixel vectors run
    /// across row ends and small maps fill their lanes; the positions past a row's end are dropped.
    case flat
    /// Everything else: the input is copied once into a zero-padded scratch plane, then a block of output
    /// channels × sixteen pixels is accumulated in registers with no bounds checks.
    case blocked
}

/// Output channels a channel-vector conv computes together: two SIMD16 vectors.
let channelBlock = 32

/// Channels per pixel of the NCHWc activation layout (ONNX Runtime's name): tensor (C, H, W) stored as
/// (C / 8, H, W, 8), one vector per pixel. A 1×1 conv then reads a pixel's channels from eight consecutive floats and writes
/// whole vectors; a depthwise conv multiplies a pixel's eight channels by their eight weights at once.
let nchwcLanes = 8

/// Which of a conv's tensors are in the NCHWc layout.
struct NCHWcSides: Hashable {
    var input = false
    var output = false
    var any: Bool { input || output }
}

