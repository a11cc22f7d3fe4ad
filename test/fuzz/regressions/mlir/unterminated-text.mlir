func.func @up_bias_shape(%x: tensor<4x6xf32>, %e: tensor<4x2xi64>, %w: tensor<4x2xf32>, %g: tensor<8x16x6xf32>, %d: tensor<8x6x16xf32>, %u: tensor<8x16x6xf32>, %b: tensor<7x16xf32>) {
  %0 = kiln.moe_experts %x, %e, %w, %g, %d up %u up_bias %b {activation = #kiln.expert_activation<swiglu>} : (tensor<4x6xf32>, tensor<4x2xi64>, tensor<4x2xf32>, tensor<8x16x6xf32>, tensor<8x6x16xf32>, tensor<8x16x6xf32>, tensor<7x16xf32>) -> tensor<4x6xf32>
  return
}J