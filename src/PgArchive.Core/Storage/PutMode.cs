namespace PgArchive.Storage;

/// <summary>What a put does when an object already exists under the key.</summary>
public enum PutMode
{
    /// <summary>Replace the existing object.</summary>
    Overwrite = 0,

    /// <summary>
    /// Store only if no object exists; otherwise fail with <see cref="ObjectStoreErrorKind.AlreadyExists"/>
    /// and leave the existing object untouched. Atomic where the backend allows it.
    /// </summary>
    CreateNew,
}
