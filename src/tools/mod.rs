//! Tools for measuring, apart from the stages: the workload of Chinese
//! finance feeds the tests and the benchmark poll (`workload`), the
//! generated corpus that scores stories (`evaluation`), and the properties
//! the fuzz targets check (`fuzzing`). Nothing in a stage imports them.

pub mod evaluation;
pub mod fuzzing;
pub mod workload;
