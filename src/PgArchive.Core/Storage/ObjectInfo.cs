namespace PgArchive.Storage;

/// <summary>What a store knows about one object without reading it.</summary>
/// <param name="Key">The key relative to the store's root, with '/' separators.</param>
/// <param name="Size">The stored size in bytes.</param>
/// <param name="LastModified">When the object was last written, as the store records it.</param>
public sealed record ObjectInfo(string Key, long Size, DateTimeOffset LastModified);
