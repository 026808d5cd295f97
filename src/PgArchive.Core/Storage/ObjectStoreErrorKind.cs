namespace PgArchive.Storage;

/// <summary>Why an object store operation failed, independent of the backend.</summary>
public enum ObjectStoreErrorKind
{
    /// <summary>Anything not covered by a more specific kind.</summary>
    Other = 0,

    /// <summary>The object does not exist.</summary>
    NotFound,

    /// <summary>A create-only put found an object already stored under the key.</summary>
    AlreadyExists,

    /// <summary>The credentials were refused or lack a permission.</summary>
    AccessDenied,

    /// <summary>The bucket, container or root directory does not exist.</summary>
    ContainerNotFound,

    /// <summary>The service asked the client to slow down.</summary>
    Throttled,

    /// <summary>The service could not be reached or failed transiently.</summary>
    Unavailable,
}
