// Tensor shapes without the batch axis: `[C, H, W]` for feature maps, `[N]` after flatten or dense.

/// The shape of one activation tensor, batch omitted.
public struct Shape: Hashable, Sendable, CustomStringConvertible {
    public var dims: [Int]

    public init(_ dims: [Int]) { self.dims = dims }

    public static func chw(_ c: Int, _ h: Int, _ w: Int) -> Shape { Shape([c, h, w]) }

    public var isFeatureMap: Bool { dims.count == 3 }
    public var channels: Int { dims[0] }
    public var height: Int { dims.count == 3 ? dims[1] : 1 }
    public var width: Int { dims.count == 3 ? dims[2] : 1 }

    /// Element count; the checker guarantees it does not overflow for shapes it accepts.
    public var elementCount: Int { dims.reduce(1, *) }

    /// `64×56×56`, as diagnostics and tables print shapes.
    public var description: String { dims.map(String.init).joined(separator: "×") }
}

/// A 2-D extent or step: kernel, stride, dilation, output size.
public struct Pair: Hashable, Sendable, CustomStringConvertible {
    public var h: Int
    public var w: Int

    public init(_ h: Int, _ w: Int) {
        self.h = h
        self.w = w
    }

    public init(square: Int) { self.init(square, square) }

    public var description: String { "\(h)×\(w)" }
}

/// Zero padding on each side of a feature map.
public struct Padding: Hashable, Sendable, CustomStringConvertible {
    public var top: Int
    public var bottom: Int
    public var left: Int
    public var right: Int

    public init(top: Int, bottom: Int, left: Int, right: Int) {
        self.top = top
        self.bottom = bottom
        self.left = left
        self.right = right
    }

    public static let zero = Padding(top: 0, bottom: 0, left: 0, right: 0)

    public var isSymmetric: Bool { top == bottom && left == right }

    public var description: String {
        if top == bottom && left == right {
            return top == left ? "\(top)" : "[\(top), \(left)]"
        }
        return "[\(top), \(bottom), \(left), \(right)]"
    }
}
