"""Adam with TensorFlow's fused update: the same rule as Keras' Adam in one kernel a variable.

Keras 3 updates each variable with about ten separate element-wise operations (subtract,
square, multiply, square root, divide, three assignments), each a pass over the variable
and a temporary as large. Phase 1's head (1280 x 256 weights) takes 64 features a step,
so those passes cost more than the step's matrix products: about half of a step's time on
a 2-core CPU (docs/training.md). TensorFlow's `ResourceApplyAdam` computes the same update
in one pass.
"""
from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="bricksort")
class FusedAdam(keras.optimizers.Adam):
    """`keras.optimizers.Adam` whose dense updates run as TensorFlow's fused Adam kernel:
    m += (g - m)(1 - beta_1); v += (g^2 - v)(1 - beta_2);
    w -= lr sqrt(1 - beta_2^t) / (1 - beta_1^t) m / (sqrt(v) + epsilon), as Keras computes
    it. Its state (iterations, momentums, velocities) is Keras' Adam's. AMSGrad, sparse
    gradients and other backends take Keras' own update."""

    def update_step(self, gradient, variable, learning_rate):
        import tensorflow as tf

        if self.amsgrad or keras.backend.backend() != "tensorflow" or isinstance(gradient, tf.IndexedSlices):
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        index = self._get_variable_index(variable)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle,
            m=self._momentums[index].handle,
            v=self._velocities[index].handle,
            beta1_power=tf.pow(beta_1, step),
            beta2_power=tf.pow(beta_2, step),
            lr=tf.cast(learning_rate, dtype),
            beta1=beta_1,
            beta2=beta_2,
            epsilon=tf.cast(self.epsilon, dtype),
            grad=tf.cast(gradient, dtype),
        )
